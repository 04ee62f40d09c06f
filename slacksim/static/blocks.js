// Block Kit → DOM: section, context, divider, actions (buttons), image, header, and the
// input blocks of a modal. Text goes through mrkdwn.js; nothing is parsed as HTML.

import { plainText, textObject } from "./mrkdwn.js";

let inputIds = 0;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Whether `url` is a path of this server: "/x", never "//host/x" (protocol-relative). A
 * browser reads a backslash as "/" and drops tabs and newlines inside a URL, so none of those
 * (nor spaces or control characters) may appear either.
 */
export function ownPath(url) {
  return /^\/(?!\/)/.test(url) && !/[\\\u0000-\u0020\u007f]/.test(url);
}

// The page loads only its own images (and its CSP allows no others): an image elsewhere is
// shown as its alt text, not fetched and not linked.
function image(object, className) {
  const alt = String(object.alt_text ?? "");
  const url = String(object.image_url ?? "");
  if (!ownPath(url)) return element("span", "bk-unsupported", alt ? `[${alt}]` : "[image]");
  const img = element("img", className);
  img.alt = alt;
  img.src = url;
  return img;
}

/** A Block Kit button as a real <button> named by its text; a click calls `onAction`. */
function button(spec, block, ctx) {
  const node = element("button", "bk-button");
  node.type = "button";
  node.textContent = plainText(spec.text);
  if (spec.style === "primary" || spec.style === "danger") node.classList.add(spec.style);
  node.addEventListener("click", () => {
    if (spec.url && /^https?:\/\//i.test(spec.url)) {
      window.open(spec.url, "_blank", "noopener,noreferrer");
    }
    ctx.onAction(spec, block);
  });
  return node;
}

function accessory(spec, block, ctx) {
  if (!spec) return null;
  if (spec.type === "button") return button(spec, block, ctx);
  if (spec.type === "image") return image(spec, "bk-accessory-image");
  return element("span", "bk-unsupported", `[${spec.type}]`);
}

function section(block, ctx) {
  const node = element("div", "bk-section");
  const body = element("div", "bk-section-text");
  if (block.text) body.appendChild(textObject(block.text, ctx.directory));
  if (Array.isArray(block.fields) && block.fields.length) {
    const fields = element("div", "bk-fields");
    for (const field of block.fields) {
      const cell = element("div", "bk-field");
      cell.appendChild(textObject(field, ctx.directory));
      fields.appendChild(cell);
    }
    body.appendChild(fields);
  }
  node.appendChild(body);
  const extra = accessory(block.accessory, block, ctx);
  if (extra) node.appendChild(extra);
  return node;
}

function context(block, ctx) {
  const node = element("div", "bk-context");
  for (const part of block.elements ?? []) {
    if (part.type === "image") {
      node.appendChild(image(part, "bk-context-image"));
    } else {
      const piece = element("span", "bk-context-text");
      piece.appendChild(textObject(part, ctx.directory));
      node.appendChild(piece);
    }
  }
  return node;
}

function actions(block, ctx) {
  const node = element("div", "bk-actions");
  for (const spec of block.elements ?? []) {
    node.appendChild(spec.type === "button" ? button(spec, block, ctx)
      : element("span", "bk-unsupported", `[${spec.type}]`));
  }
  return node;
}

function imageBlock(block) {
  const node = element("figure", "bk-image");
  if (block.title) node.appendChild(element("figcaption", "", plainText(block.title)));
  node.appendChild(image(block, ""));
  return node;
}

const RENDERERS = {
  section,
  context,
  actions,
  divider: () => element("hr", "bk-divider"),
  header: (block) => element("h3", "bk-header", plainText(block.text)),
  image: imageBlock,
};

/**
 * The blocks of a message or a view as one element. `ctx`: {directory, onAction(element,
 * block)} — the directory names users and channels for mrkdwn.
 */
export function renderBlocks(blocks, ctx) {
  const node = element("div", "blocks");
  for (const block of blocks ?? []) {
    const renderer = RENDERERS[block.type];
    node.appendChild(renderer ? renderer(block, ctx)
      : element("div", "bk-unsupported", `[unsupported block: ${block.type}]`));
  }
  return node;
}

function field(spec, id) {
  const type = spec.type;
  if (type === "plain_text_input") {
    const input = spec.multiline ? element("textarea") : element("input");
    if (!spec.multiline) input.type = "text";
    if (spec.placeholder) input.placeholder = plainText(spec.placeholder);
    if (spec.max_length) input.maxLength = spec.max_length;
    if (spec.initial_value) input.value = spec.initial_value;
    input.id = id;
    return { input, read: () => ({ type, value: input.value }), empty: () => !input.value.trim() };
  }
  if (type === "datepicker" || type === "timepicker") {
    const input = element("input");
    input.type = type === "datepicker" ? "date" : "time";
    const initial = type === "datepicker" ? spec.initial_date : spec.initial_time;
    if (initial) input.value = initial;
    input.id = id;
    const key = type === "datepicker" ? "selected_date" : "selected_time";
    return { input, read: () => ({ type, [key]: input.value || null }), empty: () => !input.value };
  }
  if (type === "static_select") {
    const select = element("select");
    select.id = id;
    const options = spec.options ?? [];
    if (!spec.initial_option) {
      const none = element("option", "", spec.placeholder ? plainText(spec.placeholder) : "—");
      none.value = "";
      select.appendChild(none);
    }
    for (const option of options) {
      const node = element("option", "", plainText(option.text));
      node.value = String(option.value);
      if (spec.initial_option && spec.initial_option.value === option.value) node.selected = true;
      select.appendChild(node);
    }
    const read = () => {
      const chosen = options.find((option) => String(option.value) === select.value);
      return { type, selected_option: chosen ?? null };
    };
    return { input: select, read, empty: () => !select.value };
  }
  const input = element("span", "bk-unsupported", `[${type}]`);
  return { input, read: () => ({ type }), empty: () => false };
}

/**
 * One input block of a modal: its label, its control and a place for its error.
 * Returns {node, blockId, actionId, read(), empty(), optional, showError(text|null)}.
 */
export function inputBlock(block) {
  inputIds += 1;
  const id = `bk-input-${inputIds}`;
  const spec = block.element ?? {};
  const node = element("div", "bk-input");
  const label = element("label", "", plainText(block.label));
  label.htmlFor = id;
  const control = field(spec, id);
  const error = element("div", "bk-error");
  error.id = `${id}-error`;
  error.setAttribute("role", "alert");
  error.hidden = true;
  control.input.setAttribute("aria-describedby", error.id);
  node.append(label, control.input);
  if (block.hint) node.appendChild(element("div", "bk-hint", plainText(block.hint)));
  node.appendChild(error);
  return {
    node,
    blockId: block.block_id ?? id,
    actionId: spec.action_id ?? id,
    optional: Boolean(block.optional),
    read: control.read,
    empty: control.empty,
    input: control.input,
    showError(text) {
      error.textContent = text ?? "";
      error.hidden = !text;
      control.input.setAttribute("aria-invalid", text ? "true" : "false");
    },
  };
}
