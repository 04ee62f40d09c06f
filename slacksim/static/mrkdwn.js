// Slack mrkdwn → DOM nodes. Every piece of text becomes a text node: nothing here parses HTML,
// so whatever a message says is shown, never run.

const ENTITIES = { amp: "&", lt: "<", gt: ">" };
const LINKABLE = /^https?:\/\/[^\s]+$/i;
const MARKS = { "*": "strong", _: "em", "~": "s" };
// Characters that may stand next to a formatting mark (Slack formats `(*this*)` too).
const BOUNDARY = /[\s.,;:!?()[\]{}'"“”‘’«»\-—–/]/;

/** Slack's three entities decoded, once (`&amp;lt;` stays `&lt;`). */
export function decode(text) {
  return String(text).replace(/&(amp|lt|gt);/g, (_, name) => ENTITIES[name]);
}

function textNodes(parent, text) {
  const lines = text.split("\n");
  lines.forEach((line, index) => {
    if (index > 0) parent.appendChild(document.createElement("br"));
    if (line) parent.appendChild(document.createTextNode(line));
  });
}

function span(className, text) {
  const node = document.createElement("span");
  node.className = className;
  node.textContent = text;
  return node;
}

/** The node of one `<…>` control sequence (its inside, without the angle brackets). */
function control(inside, directory) {
  const bar = inside.indexOf("|");
  const target = bar >= 0 ? inside.slice(0, bar) : inside;
  const label = bar >= 0 ? decode(inside.slice(bar + 1)) : "";
  if (target.startsWith("@")) {
    const id = target.slice(1);
    return span("mention", "@" + (label || directory.userName(id) || id));
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    return span("mention", "#" + (label || directory.channelName(id) || id));
  }
  if (target.startsWith("!")) {
    const word = target.slice(1).split("^")[0];
    if (word === "here" || word === "channel" || word === "everyone") {
      return span("mention", "@" + word);
    }
    if (word === "date") {
      const parts = target.split("^");
      return document.createTextNode(label || decode(parts[parts.length - 1] || ""));
    }
    return span("mention", label || "@" + word);
  }
  const url = decode(target);
  if (LINKABLE.test(url)) {
    const link = document.createElement("a");
    link.href = url;
    link.rel = "noopener noreferrer";
    link.target = "_blank";
    link.textContent = label || url;
    return link;
  }
  // mailto:, javascript:, anything else: shown, not followed.
  return document.createTextNode(label || url);
}

function isBoundary(char) {
  return char === undefined || BOUNDARY.test(char);
}

/** Where the closing `mark` of a span opened at `start` is, or -1 (never inside `<…>`). */
function closing(text, start, mark) {
  if (text[start + 1] === undefined || /\s/.test(text[start + 1])) return -1;
  for (let i = start + 1; i < text.length; i += 1) {
    const char = text[i];
    if (char === "\n") return -1;
    if (char === "<") {
      const end = text.indexOf(">", i);
      if (end < 0) return -1;
      i = end;
      continue;
    }
    if (char === mark && i > start + 1 && !/\s/.test(text[i - 1]) && isBoundary(text[i + 1])) {
      return i;
    }
  }
  return -1;
}

/** Inline mrkdwn (no code blocks, no quotes) appended to `parent`. */
function inline(parent, text, directory) {
  let plain = "";
  const flush = () => {
    if (plain) textNodes(parent, decode(plain));
    plain = "";
  };
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (char === "<") {
      const end = text.indexOf(">", i + 1);
      if (end > i + 1) {
        flush();
        parent.appendChild(control(text.slice(i + 1, end), directory));
        i = end;
        continue;
      }
    } else if (char === "`") {
      const end = text.indexOf("`", i + 1);
      if (end > i + 1) {
        flush();
        const code = document.createElement("code");
        code.textContent = decode(text.slice(i + 1, end));
        parent.appendChild(code);
        i = end;
        continue;
      }
    } else if (MARKS[char] && isBoundary(text[i - 1])) {
      const end = closing(text, i, char);
      if (end > 0) {
        flush();
        const node = document.createElement(MARKS[char]);
        inline(node, text.slice(i + 1, end), directory);
        parent.appendChild(node);
        i = end;
        continue;
      }
    }
    plain += char;
  }
  flush();
}

const QUOTE = /^(?:&gt;|>) ?/;

/** Lines of text (no code blocks) appended to `parent`: quotes grouped, lines broken. */
function lines(parent, text, directory) {
  const all = text.split("\n");
  let quote = null;
  let first = true;
  for (const line of all) {
    if (QUOTE.test(line)) {
      if (!quote) {
        quote = document.createElement("blockquote");
        parent.appendChild(quote);
      } else {
        quote.appendChild(document.createElement("br"));
      }
      inline(quote, line.replace(QUOTE, ""), directory);
      first = false;
      continue;
    }
    const afterQuote = quote !== null;
    quote = null;
    if (!first && !afterQuote) parent.appendChild(document.createElement("br"));
    inline(parent, line, directory);
    first = false;
  }
}

const NO_DIRECTORY = { userName: () => "", channelName: () => "" };

/**
 * Slack mrkdwn as a DocumentFragment: `<…>` links and mentions, *bold*, _italic_, ~strike~,
 * `code`, ```pre```, > quotes and line breaks; entities decoded; every text a text node.
 * `directory` names users and channels: {userName(id), channelName(id)}.
 */
export function render(text, directory = NO_DIRECTORY) {
  const fragment = document.createDocumentFragment();
  const source = String(text ?? "");
  const parts = source.split("```");
  parts.forEach((part, index) => {
    // Odd parts sit between two fences; a fence left open is shown as typed.
    const fenced = index % 2 === 1 && index < parts.length - 1;
    if (fenced) {
      const pre = document.createElement("pre");
      pre.textContent = decode(part.replace(/^\n/, ""));
      fragment.appendChild(pre);
    } else {
      const piece = index % 2 === 1 ? "```" + part : part;
      // The line break right after a closing fence belongs to the fence.
      const rest = index > 0 && index % 2 === 0 ? piece.replace(/^\n/, "") : piece;
      if (rest) lines(fragment, rest, directory);
    }
  });
  return fragment;
}

/** A Block Kit text object (plain_text or mrkdwn) as nodes. */
export function textObject(object, directory = NO_DIRECTORY) {
  if (!object) return document.createDocumentFragment();
  if (typeof object === "string") return render(object, directory);
  if (object.type === "mrkdwn") return render(object.text, directory);
  const fragment = document.createDocumentFragment();
  textNodes(fragment, String(object.text ?? ""));
  return fragment;
}

/** The plain string of a text object (for accessible names, titles, alt texts). */
export function plainText(object) {
  if (!object) return "";
  if (typeof object === "string") return object;
  return object.type === "mrkdwn" ? decode(object.text ?? "") : String(object.text ?? "");
}
