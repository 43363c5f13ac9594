// Owns the /docs page: one self-contained HTML page (no CDN, no external asset) that reads /openapi.json and lists
// every route with its security, parameters, body and answers, and every named schema, as TypeScript-like types.
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat-Backend HTTP API</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 1.5rem 4rem; color: #1d1d1f; }
  h1 { margin-bottom: 0; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
  details { border: 1px solid #ddd; border-radius: 6px; margin: .5rem 0; padding: .3rem .8rem; }
  summary { cursor: pointer; } summary code { font-weight: 600; }
  .method { display: inline-block; min-width: 4.2rem; font: 600 12px monospace; text-transform: uppercase; }
  .get { color: #0a6; } .post { color: #06c; } .patch { color: #a60; } .delete { color: #c22; }
  pre { background: #f6f6f8; padding: .6rem .8rem; border-radius: 4px; overflow-x: auto; font-size: 13px; }
  table { border-collapse: collapse; margin: .4rem 0; } td, th { text-align: left; padding: .2rem .8rem .2rem 0; vertical-align: top; }
  .muted { color: #666; } a { color: #06c; }
</style>
</head>
<body>
<h1 id="title">Chat-Backend HTTP API</h1>
<p class="muted">Read from <a href="openapi.json">openapi.json</a>.</p>
<div id="doc">Loading…</div>
<script>
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children.flat(Infinity)) if (child != null) node.append(child);
  return node;
};
const refName = (ref) => ref.split("/").pop();

/** A schema as TypeScript-like text: named schemas by name, objects field by field with their descriptions. */
function typeText(s, indent = "") {
  if (!s) return "unknown";
  if (s.$ref) return refName(s.$ref);
  if (s.anyOf || s.oneOf) return (s.anyOf || s.oneOf).map((x) => typeText(x, indent)).join(" | ");
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  const types = Array.isArray(s.type) ? s.type : [s.type];
  return types.map((t) => {
    if (t === "array") {
      const item = typeText(s.items, indent);
      return (/[ |]/.test(item) ? "(" + item + ")" : item) + "[]";
    }
    if (t === "object" || (t === undefined && s.properties)) {
      const props = Object.entries(s.properties || {});
      if (props.length === 0) return "object";
      const inner = indent + "  ";
      const lines = props.map(([name, p]) => {
        const optional = (s.required || []).includes(name) ? "" : "?";
        const note = [p.description, p.format, range(p), p.default !== undefined ? "default " + JSON.stringify(p.default) : ""].filter(Boolean).join("; ");
        return inner + name + optional + ": " + typeText(p, inner) + (note ? "  // " + note : "");
      });
      return "{\\n" + lines.join("\\n") + "\\n" + indent + "}";
    }
    return t === undefined ? "unknown" : t;
  }).join(" | ");
}
function range(s) {
  const parts = [];
  if (s.minimum !== undefined) parts.push(">= " + s.minimum);
  if (s.maximum !== undefined) parts.push("<= " + s.maximum);
  if (s.minLength !== undefined) parts.push("length >= " + s.minLength);
  if (s.maxLength !== undefined) parts.push("length <= " + s.maxLength);
  return parts.join(", ");
}

function contentBlock(content) {
  return Object.entries(content || {}).map(([type, media]) => el("div", {}, el("span", { class: "muted" }, type), el("pre", {}, typeText(media.schema))));
}

function operation(path, method, op) {
  const params = (op.parameters || []).map((p) =>
    el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in), el("td", {}, p.required ? "required" : "optional"),
      el("td", {}, el("code", {}, typeText(p.schema))), el("td", {}, p.description || p.schema?.description || "")));
  const security = (op.security || []).map((r) => Object.keys(r).join(" + ") || "none").join(" or ");
  return el("details", {},
    el("summary", {}, el("span", { class: "method " + method }, method), el("code", {}, path), " ", el("span", { class: "muted" }, op.summary || "")),
    op.description ? el("p", {}, op.description) : null,
    security ? el("p", {}, "Security: ", el("code", {}, security)) : null,
    params.length ? [el("h4", {}, "Parameters"), el("table", {}, params)] : null,
    op.requestBody ? [el("h4", {}, "Body"), contentBlock(op.requestBody.content)] : null,
    el("h4", {}, "Answers"),
    Object.entries(op.responses || {}).map(([status, r]) => el("div", {}, el("strong", {}, status), " ", r.description || "", contentBlock(r.content))));
}

function render(doc) {
  document.getElementById("title").textContent = doc.info.title;
  const root = document.getElementById("doc");
  root.replaceChildren(el("p", {}, doc.info.description || ""));
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["other"])[0];
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(operation(path, method, op));
    }
  }
  for (const [tag, ops] of groups) root.append(el("section", {}, el("h2", {}, tag), ops));
  const schemes = Object.entries(doc.components?.securitySchemes || {});
  if (schemes.length) root.append(el("section", {}, el("h2", {}, "Security schemes"),
    el("table", {}, schemes.map(([name, s]) => el("tr", {}, el("td", {}, el("code", {}, name)), el("td", {}, s.scheme || s.in + " " + s.name), el("td", {}, s.description || ""))))));
  const schemas = Object.entries(doc.components?.schemas || {});
  if (schemas.length) root.append(el("section", {}, el("h2", {}, "Schemas"),
    schemas.map(([name, s]) => [el("h3", { id: "schema-" + name }, name), s.description ? el("p", {}, s.description) : null, el("pre", {}, typeText(s))])));
}

fetch("openapi.json").then((r) => r.json()).then(render).catch((e) => { document.getElementById("doc").textContent = "Could not read openapi.json: " + e; });
</script>
</body>
</html>
`;
