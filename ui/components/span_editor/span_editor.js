// The span editor's DOM layer (Streamlit custom component v2). It draws the sentence and turns mouse and
// keyboard input into calls of editor_logic.js; every edit stays in the browser until a decision
// (accept, skip, flag) is sent. ui/span_editor.py inlines editor_logic.js in place of the import below,
// since a component's script is loaded from a single blob URL.
//
// All user text (tokens, labels, messages) goes into the page through textContent, never innerHTML.
// Streamlit calls the default export again with new data after every rerun and keeps the DOM, so
// listeners are attached once per mounted instance and the instance's state lives in a WeakMap.
import {
  acknowledge,
  changedEntities,
  clearSelection,
  createState,
  deleteSelection,
  extendSelection,
  firstUndecided,
  keyAction,
  labelSelection,
  makeDecision,
  selectRange,
  selectToken,
  spansFromTags,
  undo,
} from "./editor_logic.js";

const RESEND_AFTER_MS = 1500;
const instances = new WeakMap();

function newClientId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function isEditable(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toLowerCase();
  return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
}

class SpanEditor {
  constructor(parentElement, setTriggerValue) {
    this.parent = parentElement;
    this.send = setTriggerValue;
    this.root = parentElement.querySelector(".se-root");
    this.sentenceNode = this.root.querySelector(".se-sentence");
    this.legendNode = this.root.querySelector(".se-legend");
    this.positionNode = this.root.querySelector(".se-position");
    this.statusNode = this.root.querySelector(".se-status");
    this.messageNode = this.root.querySelector(".se-message");
    this.helpNode = this.root.querySelector(".se-help");
    this.data = null;
    this.epoch = null;
    this.decided = new Set();
    this.outbox = [];
    this.lastSent = 0;
    this.current = null;
    this.original = [];
    this.state = createState(0);
    this.drag = null;
    this.resendTimer = null;
    this.onKeyDown = (event) => this.keyDown(event);
    this.onPointerUp = () => {
      this.drag = null;
    };
    this.listening = false;
    this.listen();
  }

  // Listeners on the component's own elements go with them; the two on the document are added and
  // removed with the component (Streamlit may call the cleanup and then mount the same DOM again).
  listen() {
    this.sentenceNode.addEventListener("pointerdown", (event) => this.pointerDown(event));
    this.sentenceNode.addEventListener("pointerover", (event) => this.pointerOver(event));
    this.legendNode.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-type]");
      if (button) this.label(button.dataset.type);
    });
    this.root.querySelector(".se-actions").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (button) this.act({ kind: button.dataset.action });
    });
  }

  attach() {
    if (this.listening) return;
    document.addEventListener("keydown", this.onKeyDown);
    document.addEventListener("pointerup", this.onPointerUp);
    this.listening = true;
  }

  detach() {
    document.removeEventListener("keydown", this.onKeyDown);
    document.removeEventListener("pointerup", this.onPointerUp);
    clearTimeout(this.resendTimer);
    this.listening = false;
  }

  // ------------------------------------------------------------------ data from the server

  update(data) {
    this.data = data;
    if (data.epoch !== this.epoch) {
      this.epoch = data.epoch;
      this.decided = new Set();
    }
    this.outbox = acknowledge(this.outbox, data.acknowledged || []);
    for (const refused of data.rejected || []) {
      this.outbox = this.outbox.filter((decision) => decision.clientId !== refused.clientId);
      this.decided.delete(refused.itemId);
      this.showMessage(`Not saved: ${refused.message}`);
    }
    this.drawLegend();
    const next = firstUndecided(data.items || [], this.decided);
    if (next === null || this.current === null || next.id !== this.current.id) this.load(next);
    else this.drawHeader(); // the same sentence: keep its tokens (and a drag in progress) as they are
    if (this.outbox.length > 0 && performance.now() - this.lastSent > RESEND_AFTER_MS) this.flush();
  }

  load(item) {
    this.current = item;
    this.original = item ? spansFromTags(item.tags) : [];
    this.state = createState(item ? item.tokens.length : 0, this.original);
    this.drag = null;
    this.draw();
    this.root.dataset.itemId = item ? item.id : "";
  }

  // ------------------------------------------------------------------ drawing

  drawLegend() {
    const labels = this.data.labels || [];
    const signature = JSON.stringify(labels);
    if (this.legendNode.dataset.signature === signature) return;
    this.legendNode.dataset.signature = signature;
    this.legendNode.replaceChildren(
      ...labels.map((label) => {
        const button = element("button");
        button.type = "button";
        button.dataset.type = label.type;
        button.style.background = label.colour;
        if (label.key) button.append(element("kbd", "", label.key));
        button.append(document.createTextNode(label.type));
        return button;
      }),
    );
  }

  colourOf(type) {
    const label = (this.data.labels || []).find((entry) => entry.type === type);
    return label ? label.colour : "#ddd";
  }

  tokenNode(index) {
    const item = this.current;
    const confidence = item.confidences[index];
    const node = element("span", "se-token", item.tokens[index]);
    node.dataset.index = String(index);
    node.style.setProperty("--confidence", String(Math.max(0, Math.min(1, confidence))));
    node.title = `confidence ${confidence.toFixed(2)}, margin ${item.margins[index].toFixed(2)}`;
    if (confidence < this.data.lowConfidence) node.classList.add("se-low");
    const selection = this.state.selection;
    if (selection && selection.start <= index && index < selection.end) node.classList.add("se-selected");
    return node;
  }

  draw() {
    const item = this.current;
    const total = this.data ? this.data.remaining : 0;
    if (item === null) {
      const waiting = this.outbox.length > 0 || total > this.decided.size;
      this.root.dataset.state = waiting ? "waiting" : "empty";
      this.sentenceNode.replaceChildren(element("em", "", waiting ? "Saving, the next sentences are on their way..." : "This queue is done."));
      this.positionNode.textContent = "";
      this.updateStatus();
      return;
    }
    this.root.dataset.state = "editing";
    const pieces = [];
    let position = 0;
    for (const span of this.state.spans) {
      while (position < span.start) pieces.push(this.tokenNode(position++), document.createTextNode(" "));
      const mark = element("mark", "se-entity");
      mark.style.background = this.colourOf(span.type);
      mark.dataset.type = span.type;
      for (let index = span.start; index < span.end; index += 1) {
        mark.append(this.tokenNode(index));
        if (index + 1 < span.end) mark.append(document.createTextNode(" "));
      }
      mark.append(element("span", "se-label", span.type));
      pieces.push(mark, document.createTextNode(" "));
      position = span.end;
    }
    while (position < this.state.length) pieces.push(this.tokenNode(position++), document.createTextNode(" "));
    this.sentenceNode.replaceChildren(...pieces);
    this.drawHeader();
  }

  drawHeader() {
    const item = this.current;
    if (item !== null) {
      const left = Math.max(this.data.remaining - this.decided.size, 1);
      const count = (n) => Number(n).toLocaleString("en-US");
      this.positionNode.textContent = `Sentence ${count(item.rank)} · ${count(left)} left in your queue · ${this.data.order} score ${item.score.toFixed(3)}`;
    }
    this.updateStatus();
  }

  updateStatus() {
    const changed = this.current ? changedEntities(this.original, this.state.spans) : 0;
    const unsaved = this.outbox.length ? ` - saving ${this.outbox.length}` : "";
    this.statusNode.textContent = `${changed} entit${changed === 1 ? "y" : "ies"} changed${unsaved}`;
  }

  showMessage(text) {
    this.messageNode.textContent = text;
  }

  // ------------------------------------------------------------------ input

  indexOf(event) {
    const token = event.target.closest ? event.target.closest(".se-token") : null;
    return token ? Number(token.dataset.index) : null;
  }

  pointerDown(event) {
    const index = this.indexOf(event);
    if (index === null || this.current === null || event.button !== 0) return;
    event.preventDefault(); // no text selection or native drag; and take the focus, so keys come here, not to
    this.root.focus({ preventScroll: true }); // a text box the analyst typed in before
    if (event.shiftKey && this.state.anchor !== null) {
      this.setState(extendSelection(this.state, index));
      return;
    }
    this.drag = { anchor: index };
    this.setState(selectToken(this.state, index));
  }

  pointerOver(event) {
    if (this.drag === null) return;
    const index = this.indexOf(event);
    if (index === null) return;
    if (index !== this.drag.anchor || this.state.selection.end - this.state.selection.start > 1) {
      this.setState(selectRange(this.state, this.drag.anchor, index));
    }
  }

  keyDown(event) {
    if (!this.root.isConnected || event.defaultPrevented) return;
    const target = event.composedPath ? event.composedPath()[0] : event.target;
    if (isEditable(target)) return;
    const action = keyAction(event.key, event, Math.min(8, (this.data?.labels || []).length));
    if (action === null) return;
    event.preventDefault();
    this.act(action);
  }

  act(action) {
    if (action.kind === "help") return this.toggleHelp();
    if (action.kind === "escape") {
      this.toggleHelp(false);
      return this.setState(clearSelection(this.state));
    }
    if (this.current === null) return;
    if (action.kind === "label") return this.label(this.data.labels[action.index].type);
    if (action.kind === "delete") return this.setState(deleteSelection(this.state));
    if (action.kind === "undo") return this.setState(undo(this.state));
    if (action.kind === "table") return this.openTable();
    return this.decide(action.kind);
  }

  label(type) {
    if (this.current === null) return;
    if (this.state.selection === null) {
      this.showMessage("Select tokens first: drag over them, or click one and shift-click another.");
      return;
    }
    this.setState(labelSelection(this.state, type));
  }

  // A new selection only restyles the tokens in place: replacing the element under a pressed mouse
  // button loses the pointerup in Chrome, which would leave a drag running.
  setState(state) {
    if (state === this.state) return;
    const spansChanged = state.spans !== this.state.spans;
    this.state = state;
    this.showMessage("");
    if (spansChanged) this.draw();
    else this.drawSelection();
  }

  drawSelection() {
    const selection = this.state.selection;
    for (const node of this.sentenceNode.querySelectorAll(".se-token")) {
      const index = Number(node.dataset.index);
      node.classList.toggle("se-selected", selection !== null && selection.start <= index && index < selection.end);
    }
  }

  toggleHelp(show) {
    this.helpNode.hidden = show === undefined ? !this.helpNode.hidden : !show;
  }

  // ------------------------------------------------------------------ decisions

  decide(action) {
    const item = this.current;
    this.outbox.push(makeDecision(newClientId(), item, action, this.state.spans));
    this.decided.add(item.id);
    this.showMessage("");
    this.load(firstUndecided(this.data.items, this.decided));
    this.flush();
  }

  openTable() {
    this.flush({ itemId: this.current.id, spans: this.state.spans });
  }

  // Every message carries the whole outbox: Streamlit keeps only the newest value of a trigger
  // that arrives while a run is busy, and the server stores each decision once by its id.
  flush(table = null) {
    if (this.outbox.length === 0 && table === null) return;
    this.lastSent = performance.now();
    this.send("message", { decisions: this.outbox, table });
    this.updateStatus();
    clearTimeout(this.resendTimer);
    if (this.outbox.length > 0) this.resendTimer = setTimeout(() => this.flush(), RESEND_AFTER_MS * 2);
  }
}

export default function spanEditor(component) {
  const { data, parentElement, setTriggerValue } = component;
  let editor = instances.get(parentElement);
  if (editor === undefined) {
    editor = new SpanEditor(parentElement, setTriggerValue);
    instances.set(parentElement, editor);
  }
  editor.send = setTriggerValue;
  editor.attach();
  editor.update(data || { items: [], labels: [] });
  // The instance stays in the WeakMap (it goes when its DOM goes): a cleanup followed by a new call on
  // the same DOM keeps the outbox of unacknowledged decisions and the sentence being edited.
  return () => editor.detach();
}
