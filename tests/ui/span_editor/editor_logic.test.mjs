// The span editor's logic under Node's built-in test runner (node --test); no npm packages.
// tests/ui/test_span_editor.py runs this file from pytest.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  acknowledge,
  changedEntities,
  clearSelection,
  createState,
  deleteSelection,
  entityAt,
  extendSelection,
  firstUndecided,
  isValidIob2,
  keyAction,
  labelSelection,
  makeDecision,
  MAX_HISTORY,
  selectRange,
  selectToken,
  spansFromTags,
  tagsFromSpans,
  tagsOf,
  undo,
} from "../../../ui/components/span_editor/editor_logic.js";

// "Anna Berg visited New York on Monday ."
const TAGS = ["B-per", "I-per", "O", "B-geo", "I-geo", "O", "B-tim", "O"];

describe("spans and IOB2 tags", () => {
  test("tags become spans and back unchanged", () => {
    const spans = spansFromTags(TAGS);
    assert.deepEqual(spans, [
      { start: 0, end: 2, type: "per" },
      { start: 3, end: 5, type: "geo" },
      { start: 6, end: 7, type: "tim" },
    ]);
    assert.deepEqual(tagsFromSpans(spans, TAGS.length), TAGS);
  });

  test("adjacent entities of one type stay two entities", () => {
    const tags = ["B-per", "B-per", "I-per", "O"];
    assert.deepEqual(spansFromTags(tags), [
      { start: 0, end: 1, type: "per" },
      { start: 1, end: 3, type: "per" },
    ]);
    assert.deepEqual(tagsFromSpans(spansFromTags(tags), 4), tags);
  });

  test("a stray I- starts an entity, as the Python repair does", () => {
    assert.deepEqual(spansFromTags(["O", "I-geo", "I-geo", "I-per"]), [
      { start: 1, end: 3, type: "geo" },
      { start: 3, end: 4, type: "per" },
    ]);
    assert.deepEqual(tagsFromSpans(spansFromTags(["O", "I-geo", "I-geo", "I-per"]), 4), ["O", "B-geo", "I-geo", "B-per"]);
  });

  test("isValidIob2 is strict", () => {
    assert.equal(isValidIob2(TAGS), true);
    assert.equal(isValidIob2([]), true);
    assert.equal(isValidIob2(["I-per"]), false);
    assert.equal(isValidIob2(["B-per", "I-geo"]), false);
    assert.equal(isValidIob2(["O", "I-per"]), false);
    assert.equal(isValidIob2(["PER"]), false);
    assert.equal(isValidIob2(["B-"]), false);
  });

  test("createState drops overlapping and out-of-range spans", () => {
    const state = createState(4, [
      { start: 0, end: 2, type: "per" },
      { start: 1, end: 3, type: "geo" },
      { start: 3, end: 9, type: "tim" },
      { start: 2, end: 2, type: "org" },
    ]);
    assert.deepEqual(state.spans, [{ start: 0, end: 2, type: "per" }]);
  });
});

describe("selection snaps to whole tokens", () => {
  const state = createState(TAGS.length, spansFromTags(TAGS));

  test("a drag in either direction selects the tokens between", () => {
    assert.deepEqual(selectRange(state, 2, 4).selection, { start: 2, end: 5 });
    assert.deepEqual(selectRange(state, 4, 2).selection, { start: 2, end: 5 });
    assert.deepEqual(selectRange(state, -3, 99).selection, { start: 0, end: 8 });
  });

  test("a click selects the entity under it, or the token", () => {
    assert.deepEqual(selectToken(state, 4).selection, { start: 3, end: 5 });
    assert.deepEqual(selectToken(state, 2).selection, { start: 2, end: 3 });
  });

  test("click then shift-click selects from the clicked token", () => {
    const clicked = selectToken(state, 2);
    assert.deepEqual(extendSelection(clicked, 5).selection, { start: 2, end: 6 });
    assert.deepEqual(extendSelection(clicked, 0).selection, { start: 0, end: 3 });
    assert.deepEqual(extendSelection(clearSelection(state), 5).selection, { start: 5, end: 6 });
  });

  test("an empty sentence has nothing to select", () => {
    const empty = createState(0);
    assert.equal(selectToken(empty, 0).selection, null);
    assert.equal(selectRange(empty, 0, 3).selection, null);
  });
});

describe("labelling, retyping, deleting, undoing", () => {
  const start = createState(TAGS.length, spansFromTags(TAGS));

  test("labelling a selection makes one entity and keeps it selected", () => {
    const labelled = labelSelection(selectRange(start, 5, 5), "org");
    assert.deepEqual(tagsOf(labelled), ["B-per", "I-per", "O", "B-geo", "I-geo", "B-org", "B-tim", "O"]);
    assert.deepEqual(labelled.selection, { start: 5, end: 6 });
  });

  test("a selection over entities replaces them and stays valid IOB2", () => {
    const merged = labelSelection(selectRange(start, 1, 3), "org");
    assert.deepEqual(tagsOf(merged), ["O", "B-org", "I-org", "I-org", "O", "O", "B-tim", "O"]);
    assert.equal(isValidIob2(tagsOf(merged)), true);
  });

  test("another number key retypes the selected entity", () => {
    const retyped = labelSelection(selectToken(start, 3), "gpe");
    assert.deepEqual(tagsOf(retyped), ["B-per", "I-per", "O", "B-gpe", "I-gpe", "O", "B-tim", "O"]);
    assert.equal(labelSelection(retyped, "gpe"), retyped); // the same type again changes nothing
  });

  test("without a selection a label or a delete changes nothing", () => {
    assert.equal(labelSelection(start, "org"), start);
    assert.equal(deleteSelection(start), start);
  });

  test("delete removes the selected entity; on plain tokens it only clears the selection", () => {
    const deleted = deleteSelection(selectToken(start, 0));
    assert.deepEqual(tagsOf(deleted), ["O", "O", "O", "B-geo", "I-geo", "O", "B-tim", "O"]);
    assert.equal(deleted.selection, null);
    const nothing = deleteSelection(selectToken(start, 2));
    assert.deepEqual(nothing.spans, start.spans);
    assert.equal(nothing.history.length, 0);
  });

  test("Ctrl+Z undoes each edit in turn, then stops", () => {
    let state = labelSelection(selectToken(start, 2), "org");
    state = deleteSelection(selectToken(state, 6));
    state = labelSelection(selectRange(state, 0, 1), "gpe");
    const expected = [
      ["B-per", "I-per", "B-org", "B-geo", "I-geo", "O", "O", "O"],
      ["B-per", "I-per", "B-org", "B-geo", "I-geo", "O", "B-tim", "O"],
      TAGS,
      TAGS,
    ];
    for (const tags of expected) {
      state = undo(state);
      assert.deepEqual(tagsOf(state), tags);
    }
  });

  test("history is bounded", () => {
    let state = start;
    for (let i = 0; i < MAX_HISTORY + 20; i += 1) state = labelSelection(selectToken(state, 5), i % 2 ? "org" : "gpe");
    assert.equal(state.history.length, MAX_HISTORY);
  });

  test("no sequence of edits produces invalid IOB2", () => {
    // A fixed pseudo-random walk through every edit (a linear congruential generator, so it is repeatable).
    let seed = 7;
    const next = (n) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let state = start;
    const types = ["per", "geo", "org", "tim"];
    for (let step = 0; step < 2000; step += 1) {
      const move = next(5);
      if (move === 0) state = selectRange(state, next(8), next(8));
      else if (move === 1) state = selectToken(state, next(8));
      else if (move === 2) state = labelSelection(state, types[next(4)]);
      else if (move === 3) state = deleteSelection(state);
      else state = undo(state);
      assert.equal(isValidIob2(tagsOf(state)), true, `step ${step}: ${tagsOf(state)}`);
    }
  });

  test("entityAt and changedEntities", () => {
    assert.deepEqual(entityAt(start, 4), { start: 3, end: 5, type: "geo" });
    assert.equal(entityAt(start, 2), null);
    const edited = labelSelection(selectToken(labelSelection(selectToken(start, 3), "gpe"), 2), "org");
    assert.equal(changedEntities(start.spans, edited.spans), 2); // one retyped, one added
    assert.equal(changedEntities(start.spans, deleteSelection(selectToken(start, 0)).spans), 1);
    assert.equal(changedEntities(start.spans, start.spans), 0);
  });
});

describe("keys", () => {
  test("number keys label within the legend; letters ignore case", () => {
    assert.deepEqual(keyAction("1"), { kind: "label", index: 0 });
    assert.deepEqual(keyAction("8"), { kind: "label", index: 7 });
    assert.equal(keyAction("5", {}, 4), null);
    assert.equal(keyAction("9"), null);
    assert.equal(keyAction("0"), null);
    assert.deepEqual(keyAction("S"), { kind: "skip" });
    assert.deepEqual(keyAction("f"), { kind: "flag" });
    assert.deepEqual(keyAction("Enter"), { kind: "accept" });
    assert.deepEqual(keyAction("Delete"), { kind: "delete" });
    assert.deepEqual(keyAction("Backspace"), { kind: "delete" });
    assert.deepEqual(keyAction("?"), { kind: "help" });
    assert.deepEqual(keyAction("Escape"), { kind: "escape" });
    assert.deepEqual(keyAction("t"), { kind: "table" });
    assert.equal(keyAction("x"), null);
  });

  test("Ctrl+Z or Cmd+Z undoes; other modified keys are the browser's", () => {
    assert.deepEqual(keyAction("z", { ctrlKey: true }), { kind: "undo" });
    assert.deepEqual(keyAction("Z", { metaKey: true }), { kind: "undo" });
    assert.equal(keyAction("z"), null);
    assert.equal(keyAction("1", { ctrlKey: true }), null);
    assert.equal(keyAction("s", { metaKey: true }), null);
    assert.equal(keyAction("Enter", { altKey: true }), null);
  });
});

describe("the queue in the browser", () => {
  const items = [{ id: "a" }, { id: "b" }, { id: "c" }];

  test("the first sentence not decided yet is shown", () => {
    assert.equal(firstUndecided(items, new Set()).id, "a");
    assert.equal(firstUndecided(items, new Set(["a", "c"])).id, "b");
    assert.equal(firstUndecided(items, new Set(["a", "b", "c"])), null);
  });

  test("acknowledged decisions leave the outbox", () => {
    const spans = [{ start: 0, end: 2, type: "per", extra: 1 }];
    const outbox = [makeDecision("1", items[0], "accept", spans), makeDecision("2", items[1], "skip", spans)];
    assert.deepEqual(outbox[0], { clientId: "1", itemId: "a", action: "accept", spans: [{ start: 0, end: 2, type: "per" }] });
    assert.deepEqual(outbox[1], { clientId: "2", itemId: "b", action: "skip", spans: null });
    assert.deepEqual(
      acknowledge(outbox, ["1"]).map((d) => d.clientId),
      ["2"],
    );
    assert.deepEqual(acknowledge(outbox, []), outbox);
    assert.throws(() => makeDecision("3", items[2], "delete", []), /unknown decision/);
  });
});
