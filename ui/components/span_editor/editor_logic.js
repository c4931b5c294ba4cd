// The span editor's pure logic: no DOM, no Streamlit, so Node's test runner checks every rule
// (tests/ui/span_editor/editor_logic.test.mjs). span_editor.js draws what this module decides.
//
// A sentence's entities are non-overlapping spans {start, end, type} over token positions (end
// exclusive). Every edit keeps them non-overlapping, so tagsFromSpans always gives valid IOB2:
// an entity starts with B-type and continues with I-type, and nothing can produce a stray I-.
// States are plain objects and are never mutated; every edit returns a new state, which is what
// makes undo a pop of the history stack.

export const OUTSIDE = "O";
export const MAX_HISTORY = 200;

function tagParts(tag) {
  if (typeof tag !== "string" || tag === OUTSIDE || tag.length < 3 || tag[1] !== "-") {
    return { prefix: OUTSIDE, type: "" };
  }
  return { prefix: tag[0], type: tag.slice(2) };
}

// Entities of IOB2 tags. A stray I-X (no B-X before it) starts an entity, as the Python side's
// repair does, so what the analyst sees is exactly what accepting would save.
export function spansFromTags(tags) {
  const spans = [];
  let open = null;
  tags.forEach((tag, position) => {
    const { prefix, type } = tagParts(tag);
    const continues = prefix === "I" && open !== null && open.type === type;
    if (open !== null && !continues) {
      spans.push({ start: open.start, end: position, type: open.type });
      open = null;
    }
    if ((prefix === "B" || prefix === "I") && open === null) {
      open = { start: position, type };
    }
  });
  if (open !== null) spans.push({ start: open.start, end: tags.length, type: open.type });
  return spans;
}

export function tagsFromSpans(spans, length) {
  const tags = new Array(length).fill(OUTSIDE);
  for (const span of spans) {
    tags[span.start] = `B-${span.type}`;
    for (let position = span.start + 1; position < span.end; position += 1) tags[position] = `I-${span.type}`;
  }
  return tags;
}

// Strict IOB2, as ner_core.corpus.tags.is_valid_iob2: O, B-X or I-X, and an I-X only after B-X/I-X.
export function isValidIob2(tags) {
  let previousType = "";
  for (const tag of tags) {
    if (tag !== OUTSIDE && !(typeof tag === "string" && tag.length > 2 && "BI".includes(tag[0]) && tag[1] === "-")) {
      return false;
    }
    const { prefix, type } = tagParts(tag);
    if (prefix === "I" && type !== previousType) return false;
    previousType = prefix === OUTSIDE ? "" : type;
  }
  return true;
}

function sortSpans(spans) {
  return [...spans].sort((a, b) => a.start - b.start);
}

function overlaps(span, range) {
  return span.start < range.end && range.start < span.end;
}

export function sameSpans(a, b) {
  return a.length === b.length && a.every((span, i) => span.start === b[i].start && span.end === b[i].end && span.type === b[i].type);
}

export function createState(length, spans = []) {
  const clean = [];
  for (const span of sortSpans(spans)) {
    const valid = Number.isInteger(span.start) && Number.isInteger(span.end) && span.start >= 0 && span.end <= length;
    if (valid && span.start < span.end && !clean.some((kept) => overlaps(kept, span))) clean.push({ ...span });
  }
  return { length, spans: clean, selection: null, anchor: null, history: [] };
}

function clamp(state, position) {
  return Math.max(0, Math.min(state.length - 1, position));
}

// The entity covering token `position`, or null.
export function entityAt(state, position) {
  return state.spans.find((span) => span.start <= position && position < span.end) ?? null;
}

// A drag from `anchor` to `focus` (either direction), or a click then a shift-click: whole tokens.
export function selectRange(state, anchor, focus) {
  if (state.length === 0) return state;
  const from = clamp(state, anchor);
  const to = clamp(state, focus);
  return { ...state, anchor: from, selection: { start: Math.min(from, to), end: Math.max(from, to) + 1 } };
}

// Shift-click: from the last anchor (or this token when there is none) to `focus`.
export function extendSelection(state, focus) {
  return selectRange(state, state.anchor ?? focus, focus);
}

// A plain click: the whole entity under the token (so Delete or a number key acts on it), else the token.
export function selectToken(state, position) {
  if (state.length === 0) return state;
  const at = clamp(state, position);
  const entity = entityAt(state, at);
  const selection = entity ? { start: entity.start, end: entity.end } : { start: at, end: at + 1 };
  return { ...state, anchor: at, selection };
}

export function clearSelection(state) {
  return { ...state, selection: null, anchor: null };
}

function withSpans(state, spans, selection) {
  const history = [...state.history, state.spans].slice(-MAX_HISTORY);
  return { ...state, spans: sortSpans(spans), selection, history };
}

// Label the selection: entities it overlaps give way, the selection becomes one entity of `type`
// and stays selected, so another number key retypes it. Without a selection nothing changes.
export function labelSelection(state, type) {
  const range = state.selection;
  if (range === null || typeof type !== "string" || type === "") return state;
  const existing = state.spans.find((span) => span.start === range.start && span.end === range.end);
  if (existing && existing.type === type) return state;
  const kept = state.spans.filter((span) => !overlaps(span, range));
  return withSpans(state, [...kept, { start: range.start, end: range.end, type }], { ...range });
}

// Backspace/Delete: every entity the selection touches is removed (a click selects a whole entity).
export function deleteSelection(state) {
  const range = state.selection;
  if (range === null) return state;
  const kept = state.spans.filter((span) => !overlaps(span, range));
  if (kept.length === state.spans.length) return clearSelection(state);
  return { ...withSpans(state, kept, null), anchor: null };
}

export function undo(state) {
  if (state.history.length === 0) return state;
  const spans = state.history[state.history.length - 1];
  return { ...state, spans, history: state.history.slice(0, -1), selection: null, anchor: null };
}

export function tagsOf(state) {
  return tagsFromSpans(state.spans, state.length);
}

// How many entities differ from the model's: spans added, removed or retyped (a retype counts once).
export function changedEntities(originalSpans, spans) {
  const key = (span) => `${span.start}:${span.end}:${span.type}`;
  const before = new Set(originalSpans.map(key));
  const after = new Set(spans.map(key));
  const added = spans.filter((span) => !before.has(key(span)));
  const removed = originalSpans.filter((span) => !after.has(key(span)));
  const retyped = added.filter((span) => removed.some((old) => old.start === span.start && old.end === span.end)).length;
  return added.length + removed.length - retyped;
}

// What a key press means. Number keys 1..labelCount label (at most 8 keys); letters ignore case.
// Modifier combinations other than Ctrl/Cmd+Z are left to the browser (copy, reload...).
export function keyAction(key, modifiers = {}, labelCount = 8) {
  const { ctrlKey = false, metaKey = false, altKey = false } = modifiers;
  if ((ctrlKey || metaKey) && !altKey && (key === "z" || key === "Z")) return { kind: "undo" };
  if (ctrlKey || metaKey || altKey) return null;
  if (/^[1-8]$/.test(key)) {
    const index = Number(key) - 1;
    return index < labelCount ? { kind: "label", index } : null;
  }
  switch (key) {
    case "Backspace":
    case "Delete":
      return { kind: "delete" };
    case "Enter":
      return { kind: "accept" };
    case "s":
    case "S":
      return { kind: "skip" };
    case "f":
    case "F":
      return { kind: "flag" };
    case "?":
      return { kind: "help" };
    case "Escape":
      return { kind: "escape" };
    case "t":
    case "T":
      return { kind: "table" };
    default:
      return null;
  }
}

// --------------------------------------------------------------------------- the queue in the browser
// The server sends the next few sentences; a decision (accept, skip, flag) moves to the next one at
// once and goes into an outbox that is sent to the server until the server acknowledges it.

export function firstUndecided(items, decided) {
  return items.find((item) => !decided.has(item.id)) ?? null;
}

export function acknowledge(outbox, acknowledgedIds) {
  const done = new Set(acknowledgedIds);
  return outbox.filter((decision) => !done.has(decision.clientId));
}

export const DECISIONS = { accept: "accept", skip: "skip", flag: "flag" };

// A decision carries the entities as spans; the server turns them into IOB2 tags and checks them
// (ner_core.workbench.span_editing), so nothing the browser sends is trusted as tags.
export function makeDecision(clientId, item, action, spans) {
  if (!(action in DECISIONS)) throw new Error(`unknown decision ${action}`);
  const copied = action === "skip" ? null : spans.map(({ start, end, type }) => ({ start, end, type }));
  return { clientId, itemId: item.id, action, spans: copied };
}
