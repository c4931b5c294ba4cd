"""The models: registry of architectures, custom layers, the CRF, feature encoding,
batching and the decoders that turn scores into IOB2 tags.
"""
