// Parse Mermaid diagrams with the real Mermaid library and print what it understood, one JSON
// line per diagram. Used by tests/integration/test_mermaid.py only; nothing at run time depends on node.
//
// usage: node tests/mermaid_check.mjs NODE_MODULES_DIR < diagrams.json   (a JSON list of strings)
// Each output object: {ok, error?, tasks?: [{period, events}]}, with Mermaid's entity codes
// decoded to the characters a rendered diagram would show.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
const require = createRequire(join(modules, "noop.js"));
const { JSDOM } = require("jsdom");

// Mermaid's sanitizer needs a DOM even to parse.
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.Element = dom.window.Element;
globalThis.HTMLElement = dom.window.HTMLElement;

const { default: mermaid } = await import(pathToFileURL(join(modules, "mermaid", "dist", "mermaid.core.mjs")).href);
mermaid.initialize({ startOnLoad: false });

// Mermaid swaps "#58;" for placeholders before parsing and turns them into "&#58;" in the SVG.
function decode(text) {
  return text
    .replace(/\uFB02\u00B0\u00B0(\d+)\u00B6\u00DF/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/\uFB02\u00B0(\w+)\u00B6\u00DF/g, (_, name) => `&${name};`);
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const text of JSON.parse(input)) {
  try {
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const tasks = typeof diagram.db.getTasks === "function" ? diagram.db.getTasks() : [];
    results.push({
      ok: true,
      type: diagram.type,
      tasks: tasks.map((t) => ({ period: decode(String(t.task)).trim(), events: t.events.map((e) => decode(String(e)).trim()) })),
    });
  } catch (err) {
    results.push({ ok: false, error: String((err && err.message) || err).slice(0, 400) });
  }
}
console.log(JSON.stringify(results));
