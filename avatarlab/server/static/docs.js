// Renders /openapi.json as a list of endpoints: no CDN, so it works offline.
"use strict";

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Docstrings mark names with ``double`` or `single` backticks: show those as <code>.
function prose(tag, text) {
  const node = element(tag);
  text.split(/``?([^`]+)``?/).forEach((part, index) => {
    node.append(index % 2 ? element("code", "", part) : document.createTextNode(part));
  });
  return node;
}

function resolve(spec, schema) {
  if (schema && schema.$ref) return spec.components.schemas[schema.$ref.split("/").pop()];
  return schema || {};
}

function typeOf(spec, schema) {
  schema = resolve(spec, schema);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (schema.anyOf) return schema.anyOf.map((s) => typeOf(spec, s)).join(" | ");
  if (schema.type === "array") return `${typeOf(spec, schema.items)}[]`;
  return schema.type || schema.title || "object";
}

function limits(schema) {
  const parts = [];
  for (const s of [schema, ...(schema.anyOf || [])]) {
    if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
    if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  }
  return parts.join(", ");
}

function table(headings, rows) {
  const result = element("table");
  const head = element("tr");
  headings.forEach((h) => head.append(element("th", "", h)));
  result.append(head);
  for (const row of rows) {
    const tr = element("tr");
    row.forEach((cell) => tr.append(element("td", "", cell)));
    result.append(tr);
  }
  return result;
}

function bodyTable(spec, operation) {
  const content = operation.requestBody && operation.requestBody.content;
  if (!content) return null;
  const [type, media] = Object.entries(content)[0];
  const schema = resolve(spec, media.schema);
  const rows = Object.entries(schema.properties || {}).map(([name, field]) => [
    name,
    typeOf(spec, field),
    field.default === undefined ? "" : JSON.stringify(field.default),
    limits(field),
    field.description || "",
  ]);
  const wrap = element("div");
  wrap.append(element("p", "muted", `Body: ${type}`), table(["field", "type", "default", "limits", ""], rows));
  return wrap;
}

function endpointCard(spec, path, method, operation) {
  const card = element("details", "panel endpoint");
  const summary = element("summary");
  summary.append(
    element("span", `method ${method}`, method.toUpperCase()),
    element("span", "path", path),
    element("span", "summary-text", operation.summary || "")
  );
  const body = element("div", "body");
  if (operation.description) body.append(prose("p", operation.description));
  const params = (operation.parameters || []).map((p) => [p.name, p.in, typeOf(spec, p.schema), limits(p.schema || {})]);
  if (params.length) body.append(table(["parameter", "in", "type", "limits"], params));
  const requestBody = bodyTable(spec, operation);
  if (requestBody) body.append(requestBody);
  const codes = element("div", "status-codes");
  for (const [code, response] of Object.entries(operation.responses || {})) {
    codes.append(element("span", "chip", `${code} ${response.description || ""}`));
  }
  body.append(codes);
  card.append(summary, body);
  return card;
}

async function render() {
  const target = document.getElementById("endpoints");
  const spec = await (await fetch("/openapi.json")).json();
  const groups = new Map();
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const tag = (operation.tags && operation.tags[0]) || "other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(endpointCard(spec, path, method, operation));
    }
  }
  target.replaceChildren();
  for (const [tag, cards] of groups) {
    target.append(element("h3", "", tag), ...cards);
  }
}

render();
