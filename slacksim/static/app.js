// The simulator page: a workspace, a person to speak as, a composer, and what the bot does,
// live from /sim/events. The server sends data; every node here is built with textContent.

import { inputBlock, ownPath, renderBlocks } from "./blocks.js";
import { plainText, render as mrkdwn } from "./mrkdwn.js";

const HOME = "home";
const COLOURS = ["#e01e5a", "#2eb67d", "#36c5f0", "#ecb22e", "#7c3085", "#1d9bd1", "#e8912d"];

const state = {
  team: "",
  bot: { id: "UBOT", name: "estafeta" },
  people: [],
  channels: [],
  messages: new Map(),
  calls: [],
  modals: {},
  homes: {},
};
let me = "";
let current = "";
let replyTo = null; // the thread_ts the composer answers in, or null
// Live events are held while a snapshot loads (and before the first one), then replayed on it.
let loading = true;
let pending = [];
let generation = 0; // of the latest load: an older one that finishes late is dropped
const RETRY_MS = [250, 500, 1000, 2000, 4000]; // waits before fetching the state again
let openModal = null; // {user, view_id, inputs} of the dialog shown

const $ = (id) => document.getElementById(id);

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

const directory = {
  userName(id) {
    if (id === state.bot.id) return state.bot.name;
    const person = state.people.find((p) => p.id === id);
    return person ? person.name : "";
  },
  channelName(id) {
    const channel = state.channels.find((c) => c.id === id);
    return channel ? channel.name : "";
  },
};

// -- talking to the simulator ----------------------------------------------------------------

async function post(path, body) {
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({ ok: false, error: `HTTP ${response.status}` }));
    if (!response.ok && answer.ok !== false) answer.ok = false;
    return answer;
  } catch (error) {
    return { ok: false, error: String(error) };
  }
}

function notice(text, level = "info") {
  const item = node("div", `notice ${level}`, text);
  $("notices").appendChild(item);
  setTimeout(() => item.remove(), 8000);
}

function checkAck(answer, what) {
  if (answer.ok === false && !answer.errors) {
    notice(`${what}: ${answer.error ?? "refused"}`, "error");
  } else if (answer.ack && answer.ack.status >= 400) {
    notice(`${what}: the gateway answered ${answer.ack.status}`, "error");
  }
}

// -- conversations -----------------------------------------------------------------------------

function dmOf(user) {
  const dms = state.channels.filter((c) => c.dm);
  return dms.find((c) => c.user === user) ?? dms.find((c) => c.id === "D" + user.slice(1));
}

function conversationName(id) {
  if (id === HOME) return "Home";
  const channel = state.channels.find((c) => c.id === id);
  if (!channel) return id;
  return channel.dm ? state.bot.name : "#" + channel.name;
}

const SVG = "http://www.w3.org/2000/svg";

function lockIcon() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 10 12");
  svg.setAttribute("class", "lock");
  svg.setAttribute("aria-hidden", "true");
  const body = document.createElementNS(SVG, "rect");
  for (const [key, value] of [["x", 1], ["y", 5], ["width", 8], ["height", 7], ["rx", 1]]) {
    body.setAttribute(key, String(value));
  }
  const shackle = document.createElementNS(SVG, "path");
  shackle.setAttribute("d", "M3 5V3.5a2 2 0 0 1 4 0V5");
  shackle.setAttribute("fill", "none");
  shackle.setAttribute("stroke", "currentColor");
  shackle.setAttribute("stroke-width", "1.4");
  svg.append(body, shackle);
  return svg;
}

function renderSidebar() {
  const channels = $("channel-list");
  const dms = $("dm-list");
  channels.replaceChildren();
  dms.replaceChildren();
  for (const channel of state.channels.filter((c) => !c.dm)) {
    const button = node("button", "conversation");
    button.type = "button";
    button.dataset.conversation = channel.id;
    button.appendChild(node("span", "", "#" + channel.name));
    if (channel.private) {
      const lock = lockIcon();
      button.title = "Private channel";
      button.appendChild(lock);
    }
    channels.appendChild(button);
  }
  const dm = dmOf(me);
  if (dm) {
    const button = node("button", "conversation dm");
    button.type = "button";
    button.dataset.conversation = dm.id;
    const dot = node("span", "presence");
    dot.setAttribute("aria-hidden", "true");
    button.append(dot, node("span", "", state.bot.name));
    dms.appendChild(button);
  }
  for (const button of $("channels").querySelectorAll("button.conversation")) {
    if (button.dataset.conversation === current) {
      button.setAttribute("aria-current", "page");
    } else {
      button.removeAttribute("aria-current");
    }
  }
}

function select(conversation) {
  current = conversation;
  replyTo = null;
  renderSidebar();
  renderConversation();
  if (conversation === HOME) void post("/sim/home", { user: me }).then((a) => checkAck(a, "Home"));
}

// -- messages ----------------------------------------------------------------------------------

function visible(message) {
  if (message.channel !== current) return false;
  return !message.ephemeral || message.visible_to === me;
}

function order(a, b) {
  const byTs = parseFloat(a.ts) - parseFloat(b.ts);
  if (byTs) return byTs;
  return parseInt(String(a.id).slice(1), 10) - parseInt(String(b.id).slice(1), 10);
}

function clock(ts) {
  const when = new Date(parseFloat(ts) * 1000);
  if (Number.isNaN(when.getTime())) return "";
  return when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function avatar(user, name) {
  const index = [...user].reduce((sum, char) => sum + char.charCodeAt(0), 0) % COLOURS.length;
  const element = node("span", "avatar", (name || "?").slice(0, 1).toUpperCase());
  element.style.background = user === state.bot.id ? "#4a154b" : COLOURS[index];
  element.setAttribute("aria-hidden", "true");
  return element;
}

function files(message) {
  const list = node("div", "files");
  for (const file of message.files ?? []) {
    const url = String(file.url ?? "");
    if (!ownPath(url)) continue; // only the simulator's own files
    if (file.image) {
      const img = node("img", "file-image");
      img.alt = String(file.title || file.name || "image");
      img.src = url;
      list.appendChild(img);
    } else {
      const link = node("a", "file-link", String(file.name || file.title || "file"));
      link.href = url;
      link.download = String(file.name || "");
      list.appendChild(link);
    }
  }
  return list;
}

function messageItem(message, replies) {
  const item = node("li", "message");
  item.dataset.id = message.id;
  if (message.ephemeral) item.classList.add("ephemeral");
  const name = directory.userName(message.user) || message.user;
  item.appendChild(avatar(message.user, name));
  const main = node("div", "message-main");
  const header = node("div", "message-header");
  header.appendChild(node("span", "author", name));
  if (message.user === state.bot.id) header.appendChild(node("span", "badge", "APP"));
  const time = node("time", "time", clock(message.ts));
  const when = new Date(parseFloat(message.ts) * 1000);
  if (!Number.isNaN(when.getTime())) time.dateTime = when.toISOString();
  header.appendChild(time);
  main.appendChild(header);
  if (message.ephemeral) main.appendChild(node("div", "ephemeral-note", "Only visible to you"));
  const body = node("div", "message-body");
  if (Array.isArray(message.blocks) && message.blocks.length) {
    body.appendChild(renderBlocks(message.blocks, {
      directory,
      onAction: (spec, block) => void post("/sim/action", {
        user: me, message_id: message.id, action_id: spec.action_id,
        block_id: block.block_id ?? "", value: spec.value ?? "",
      }).then((answer) => checkAck(answer, plainText(spec.text))),
    }));
  } else {
    body.appendChild(mrkdwn(message.text ?? "", directory));
  }
  main.appendChild(body);
  if (message.files && message.files.length) main.appendChild(files(message));
  if (replies !== null && !message.ephemeral) {
    const reply = node("button", "reply-button", "Reply in thread");
    reply.type = "button";
    reply.addEventListener("click", () => {
      replyTo = message.ts;
      renderComposer();
      $("composer-text").focus();
    });
    main.appendChild(reply);
  }
  if (replies && replies.length) {
    const list = node("ul", "replies");
    list.setAttribute("aria-label", "Replies");
    for (const child of replies) list.appendChild(messageItem(child, null));
    main.appendChild(list);
  }
  item.appendChild(main);
  return item;
}

function renderMessages() {
  const list = $("messages");
  const timeline = $("timeline");
  const atBottom = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 80;
  const shown = [...state.messages.values()].filter(visible).sort(order);
  const parents = new Set(shown.filter((m) => !m.thread_ts || m.thread_ts === m.ts)
    .map((m) => m.ts));
  const replies = new Map();
  const top = [];
  for (const message of shown) {
    const thread = message.thread_ts;
    if (thread && thread !== message.ts && parents.has(thread)) {
      if (!replies.has(thread)) replies.set(thread, []);
      replies.get(thread).push(message);
    } else {
      top.push(message);
    }
  }
  list.replaceChildren(...top.map((m) => messageItem(m, replies.get(m.ts) ?? [])));
  if (atBottom) timeline.scrollTop = timeline.scrollHeight;
}

function renderHome() {
  const home = $("home");
  home.replaceChildren();
  const view = state.homes[me];
  if (!view) {
    home.appendChild(node("p", "empty", "The bot has not published a Home tab for you yet."));
    return;
  }
  home.appendChild(renderBlocks(view.blocks, {
    directory,
    onAction: (spec, block) => void post("/sim/action", {
      user: me, view_id: view.id ?? "VHOME", action_id: spec.action_id,
      block_id: block.block_id ?? "", value: spec.value ?? "",
    }).then((answer) => checkAck(answer, plainText(spec.text))),
  }));
}

function renderComposer() {
  const label = "Message " + conversationName(current);
  const text = $("composer-text");
  text.setAttribute("aria-label", label);
  text.placeholder = label;
  $("composer").hidden = current === HOME;
  $("replying").hidden = replyTo === null;
}

function renderConversation() {
  const home = current === HOME;
  $("conversation-title").textContent = conversationName(current);
  $("messages").hidden = home;
  $("home").hidden = !home;
  if (home) renderHome(); else renderMessages();
  renderComposer();
}

// -- Slack calls -------------------------------------------------------------------------------

function callItem(call) {
  const item = node("li", call.ok === false ? "call failed" : "call");
  const line = node("div", "call-line");
  line.append(node("code", "call-method", String(call.method ?? "")),
    node("span", "call-team", String(call.team || "—")));
  if (call.ok === false) line.appendChild(node("span", "call-failed", "failed"));
  if (call.at) line.appendChild(node("time", "time", clock(call.at)));
  item.appendChild(line);
  const details = node("details", "call-args");
  details.appendChild(node("summary", "", "arguments"));
  details.appendChild(node("pre", "", JSON.stringify(call.params ?? {}, null, 2)));
  item.appendChild(details);
  return item;
}

function addCall(call) {
  if (call.id !== undefined && state.calls.some((known) => known.id === call.id)) return;
  state.calls.push(call);
  const list = $("calls");
  list.appendChild(callItem(call));
  list.parentElement.scrollTop = list.parentElement.scrollHeight;
}

function renderCalls() {
  $("calls").replaceChildren(...state.calls.map(callItem));
}

// -- the modal ---------------------------------------------------------------------------------

function showModal(user, viewId, view) {
  if (user !== me) return;
  const dialog = $("modal");
  $("modal-title").textContent = plainText(view.title);
  $("modal-submit").textContent = view.submit ? plainText(view.submit) : "Submit";
  $("modal-submit").hidden = !view.submit;
  $("modal-close").textContent = view.close ? plainText(view.close) : "Cancel";
  const body = $("modal-body");
  body.replaceChildren();
  const inputs = [];
  const ctx = {
    directory,
    onAction: (spec, block) => void post("/sim/action", {
      user: me, view_id: viewId, action_id: spec.action_id, block_id: block.block_id ?? "",
      value: spec.value ?? "",
    }).then((answer) => checkAck(answer, plainText(spec.text))),
  };
  for (const block of view.blocks ?? []) {
    if (block.type === "input") {
      const input = inputBlock(block);
      inputs.push(input);
      body.appendChild(input.node);
    } else {
      body.appendChild(renderBlocks([block], ctx));
    }
  }
  openModal = { user, view_id: viewId, inputs };
  if (!dialog.open) dialog.showModal();
  const first = inputs[0];
  if (first) first.input.focus();
}

function hideModal(viewId) {
  if (openModal && viewId && openModal.view_id !== viewId) return;
  openModal = null;
  const dialog = $("modal");
  if (dialog.open) dialog.close();
}

async function submitModal(event) {
  event.preventDefault();
  if (!openModal) return;
  const shown = openModal;
  const values = {};
  let missing = false;
  for (const input of shown.inputs) {
    const empty = !input.optional && input.empty();
    input.showError(empty ? "Please fill out this field." : null);
    missing ||= empty;
    values[input.blockId] = { [input.actionId]: input.read() };
  }
  if (missing) return;
  const answer = await post("/sim/submit", { user: shown.user, view_id: shown.view_id, values });
  if (answer.ok) {
    delete state.modals[shown.user];
    hideModal(shown.view_id);
    return;
  }
  if (answer.errors) {
    for (const input of shown.inputs) input.showError(answer.errors[input.blockId] ?? null);
    return;
  }
  checkAck(answer, "Submit");
}

function closeModal() {
  if (!openModal) return;
  const shown = openModal;
  delete state.modals[shown.user];
  hideModal(shown.view_id);
  void post("/sim/close", { user: shown.user, view_id: shown.view_id })
    .then((answer) => checkAck(answer, "Close"));
}

function showModalOf(user) {
  const modal = state.modals[user];
  if (modal) showModal(user, modal.view_id, modal.view); else hideModal(null);
}

// -- live updates ------------------------------------------------------------------------------

const HANDLERS = {
  message(message) {
    state.messages.set(message.id, message);
    if (current !== HOME) renderMessages();
  },
  message_changed(message) {
    state.messages.set(message.id, message);
    if (current !== HOME) renderMessages();
  },
  message_deleted(data) {
    state.messages.delete(data.id);
    if (current !== HOME) renderMessages();
  },
  modal_open(data) {
    state.modals[data.user] = { view_id: data.view_id, view: data.view };
    showModal(data.user, data.view_id, data.view);
  },
  modal_update(data) {
    state.modals[data.user] = { view_id: data.view_id, view: data.view };
    showModal(data.user, data.view_id, data.view);
  },
  modal_close(data) {
    const modal = state.modals[data.user];
    if (modal && modal.view_id === data.view_id) delete state.modals[data.user];
    if (data.user === me) hideModal(data.view_id);
  },
  home(data) {
    state.homes[data.user] = data.view;
    if (current === HOME && data.user === me) renderHome();
  },
  call(call) {
    addCall(call);
  },
  notice(data) {
    notice(String(data.text ?? ""), String(data.level ?? "info"));
  },
};

function handle(name, data) {
  if (loading) {
    pending.push([name, data]);
    return;
  }
  HANDLERS[name](data);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Called on every open of the event stream: the server registers the stream before it
// opens, so a snapshot fetched now misses nothing that the stream does not bring.
async function loadState() {
  const mine = ++generation;
  loading = true;
  for (let attempt = 0; ; attempt += 1) {
    // Everything the stream brought until now is in the snapshot this fetch gets.
    pending = [];
    let data;
    try {
      const response = await fetch("/sim/state", { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      data = await response.json();
    } catch {
      if (mine !== generation) return; // a newer load took over
      await sleep(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
      if (mine !== generation) return;
      continue;
    }
    if (mine === generation) applyState(data);
    return;
  }
}

function applyState(data) {
  state.team = data.team ?? "";
  state.bot = data.bot ?? state.bot;
  state.people = data.people ?? [];
  state.channels = data.channels ?? [];
  state.messages = new Map((data.messages ?? []).map((m) => [m.id, m]));
  state.calls = data.calls ?? [];
  state.modals = data.modals ?? {};
  state.homes = data.homes ?? {};
  if (!state.people.some((p) => p.id === me)) me = state.people[0]?.id ?? "";
  if (!current || (current !== HOME && !state.channels.some((c) => c.id === current))) {
    current = state.channels.find((c) => !c.dm)?.id ?? "";
  }
  const speakAs = $("speak-as");
  speakAs.replaceChildren(...state.people.map((person) => {
    const option = node("option", "", person.name);
    option.value = person.id;
    option.selected = person.id === me;
    return option;
  }));
  $("workspace-name").textContent = state.team ? `Estafeta demo · ${state.team}` : "Estafeta demo";
  renderSidebar();
  renderConversation();
  renderCalls();
  showModalOf(me);
  const queued = pending;
  pending = [];
  loading = false;
  // What happened while the state loaded, in order. One the snapshot already holds changes
  // nothing: messages are kept by id, a call already listed is not added twice.
  for (const [name, event] of queued) HANDLERS[name](event);
  document.body.dataset.ready = "true";
}

function listen(attempt = 0) {
  const source = new EventSource("/sim/events");
  source.addEventListener("open", () => {
    attempt = 0;
    $("connection").textContent = "live";
    $("connection").className = "connection live";
    void loadState();
  });
  source.addEventListener("error", () => {
    $("connection").textContent = "reconnecting…";
    $("connection").className = "connection down";
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (an answer that was no event stream): start a new one.
      source.close();
      setTimeout(() => listen(attempt + 1), RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
    }
  });
  for (const name of Object.keys(HANDLERS)) {
    source.addEventListener(name, (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      handle(name, data);
    });
  }
}

// -- composer and controls ---------------------------------------------------------------------

async function send() {
  const box = $("composer-text");
  const text = box.value;
  if (!text.trim() || current === HOME) return;
  box.value = "";
  const body = { user: me, channel: current, text };
  if (replyTo !== null) body.thread_ts = replyTo;
  const answer = await post("/sim/say", body);
  if (answer.ok === false) {
    box.value = text;
    notice(`Not sent: ${answer.error ?? "refused"}`, "error");
    return;
  }
  if (answer.message) HANDLERS.message(answer.message);
  checkAck(answer, "Sent");
}

function wire() {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    void send();
  });
  $("composer-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void send();
    }
  });
  $("replying-cancel").addEventListener("click", () => {
    replyTo = null;
    renderComposer();
  });
  $("channels").addEventListener("click", (event) => {
    const button = event.target.closest("button.conversation");
    if (button) select(button.dataset.conversation);
  });
  $("speak-as").addEventListener("change", (event) => {
    me = event.target.value;
    if (current !== HOME && !state.channels.some((c) => c.id === current && !c.dm)) {
      current = dmOf(me)?.id ?? current; // stay in "the DM with the bot", now this person's
    }
    hideModal(null);
    renderSidebar();
    renderConversation();
    showModalOf(me);
    if (current === HOME) void post("/sim/home", { user: me });
  });
  $("modal-form").addEventListener("submit", (event) => void submitModal(event));
  $("modal-close").addEventListener("click", closeModal);
  $("modal").addEventListener("cancel", (event) => {
    event.preventDefault(); // Escape: closed the way the close button closes it
    closeModal();
  });
}

wire();
listen(); // its first open loads the state
