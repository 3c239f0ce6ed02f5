// Building the page from API data without ever parsing it as HTML: every
// string becomes a text node or an attribute value.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, ...children);
  return element;
}

/** `h("a", {href: "/ui/"}, "text", child)`: an element; strings become text. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Appends children (nodes, strings, numbers, nested arrays); skips null/false. */
export function append(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

/** A table whose cells carry their column's name (phones show rows as cards). */
export function table(columns, rows, caption) {
  return h("div", { class: "table-wrap" },
    h("table", { class: "data" },
      caption ? h("caption", { class: "sr-only" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((name) => h("th", { scope: "col" }, name)))),
      h("tbody", {}, rows)));
}

/** One row of `table`: `cells` line up with `columns`. */
export function row(columns, cells, attrs) {
  return h("tr", attrs, cells.map((cell, i) => h("td", { "data-label": columns[i] }, cell)));
}

/** A status or flag as a coloured label. */
export function badge(text, kind) {
  return h("span", { class: `badge badge-${kind ?? text}` }, text);
}
