"""Traffic between models: experiment arms, the circuit breaker, the router, the
replayed A/B simulator, its statistics, and replay of a simulation from the log.
"""
