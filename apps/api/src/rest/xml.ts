import { ENTITY_ACTION, EntityDecoder } from "@nodable/entities";
import XMLBuilder from "fast-xml-builder";
import { XMLParser } from "fast-xml-parser";
import { SyntaxValidator } from "fast-xml-validator";

/*
 * The XML form of a JSON value, both ways, with no schema: the document says its own types.
 *
 *   object  -> an element whose children are its members, in order (`type="object"` when it has none)
 *   array   -> `type="array"`, one child per item (the item's element name is ignored when read)
 *   string  -> the element's text (`<middleName/>` is "")
 *   number  -> `type="number"`, JSON's number syntax;  boolean -> `type="boolean"`, true | false
 *   null    -> `nil="true"`
 *
 * A member whose name is no XML name is `<_ key="the name">`. The request schemas could not drive
 * the conversion instead: a contact's schema is a transform over unknown (it reports server-managed
 * keys before the strict object runs), and the answers' schemas are open objects.
 */

/** The media types read and written as XML (answered with the one the caller asked for). */
export const XML_MEDIA_TYPES = ["application/xml", "text/xml"] as const;
export type XmlMediaType = (typeof XML_MEDIA_TYPES)[number];

/** Nesting deeper than any resource is refused before it is read (a page of contacts is 6). */
const MAX_DEPTH = 24;

/** A body that is not well-formed XML or not a document of this mapping; `field` is a dotted path. */
export class XmlBodyError extends Error {
  constructor(
    readonly field: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** fast-xml-parser's `preserveOrder` tree: a text node, or one element with its attributes. */
type XmlNode = { "#text": string } | Record<string, XmlNode[] | Record<string, string> | undefined>;

const ATTRIBUTES = ":@";
const TEXT = "#text";

function parser(): XMLParser {
  return new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: "",
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    removeNSPrefix: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    maxNestedTags: MAX_DEPTH,
    // XML's five entities and character references only: an entity declared in a DOCTYPE is an
    // error, so nothing expands (no billion laughs) and nothing is fetched (no XXE).
    processEntities: true,
    entityDecoder: new EntityDecoder({
      numericAllowed: true,
      onInputEntity: () => ENTITY_ACTION.THROW,
      onExternalEntity: () => ENTITY_ACTION.THROW,
    }),
  });
}

/** Well-formedness first (the parser alone lets some faults through), XML 1.0's stricter rules included. */
const validator = new SyntaxValidator({
  invalidCharSequence: { comment: true, tagValue: true, attrLt: true },
});

const builder = new XMLBuilder({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  suppressEmptyNode: true,
  processEntities: true,
});

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** An element name this mapping writes as is: an XML name without `:` that does not start with `xml`. */
const ELEMENT_NAME = /^(?!xml)[A-Za-z_][A-Za-z0-9._-]*$/i;
/** Names the parser refuses or renames as elements (prototype pollution guards): written as `<_ key>`. */
const GUARDED_NAMES = new Set([
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "toString",
  "valueOf",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
]);

function join(path: string | null, member: string | number): string {
  return path === null ? String(member) : `${path}.${member}`;
}

function elementOf(node: XmlNode): { tag: string; children: XmlNode[]; attributes: Record<string, string> } {
  const tag = Object.keys(node).find((k) => k !== ATTRIBUTES) ?? "";
  const record = node as Record<string, unknown>;
  return {
    tag,
    children: (record[tag] ?? []) as XmlNode[],
    attributes: (record[ATTRIBUTES] ?? {}) as Record<string, string>,
  };
}

function isText(node: XmlNode): node is { "#text": string } {
  return TEXT in node;
}

/** The JSON value of one element; `path` names it in errors (null for the root). */
function valueOf(node: XmlNode, path: string | null): unknown {
  const { children, attributes } = elementOf(node);
  let type = "";
  let nil = false;
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "type") type = value;
    else if (name === "nil") {
      if (value !== "true" && value !== "false")
        throw new XmlBodyError(path, 'nil must be "true" or "false"');
      nil = value === "true";
    } else if (name !== "key" && name !== "xmlns") {
      throw new XmlBodyError(path, `unknown attribute ${name}`);
    }
  }
  const elements = children.filter((child) => !isText(child));
  const text = children.map((child) => (isText(child) ? child[TEXT] : "")).join("");
  if (elements.length > 0 && text.trim() !== "") throw new XmlBodyError(path, "text beside child elements");
  if (nil) {
    if (elements.length > 0 || text !== "") throw new XmlBodyError(path, "a nil element has no content");
    return null;
  }
  if (type === "") type = elements.length > 0 ? "object" : "string";
  if (type !== "array" && type !== "object" && elements.length > 0) {
    throw new XmlBodyError(path, `a ${type} has no child elements`);
  }
  switch (type) {
    case "string":
      return text;
    case "number":
      if (!NUMBER.test(text)) throw new XmlBodyError(path, "not a number");
      return Number(text);
    case "boolean":
      if (text !== "true" && text !== "false") throw new XmlBodyError(path, 'a boolean is "true" or "false"');
      return text === "true";
    case "array":
      return elements.map((child, i) => valueOf(child, join(path, i)));
    case "object": {
      const members = new Map<string, unknown>();
      for (const child of elements) {
        const { tag, attributes: attrs } = elementOf(child);
        const name = attrs.key ?? tag;
        if (members.has(name)) throw new XmlBodyError(join(path, name), "the member is given twice");
        members.set(name, valueOf(child, join(path, name)));
      }
      // fromEntries defines own properties: a member named __proto__ stays a member.
      return Object.fromEntries(members);
    }
    default:
      throw new XmlBodyError(path, `unknown type ${type}`);
  }
}

/**
 * The JSON value an XML document of this mapping holds (the root element's name is not read).
 * Throws `XmlBodyError` for a document that is not well-formed, has a DOCTYPE, or breaks the mapping.
 */
export function xmlToJson(text: string): unknown {
  // A DTD has no use in this mapping and is where entity attacks live: refused outright.
  if (/<!DOCTYPE/i.test(text)) throw new XmlBodyError(null, "a DOCTYPE is not accepted");
  let nodes: XmlNode[];
  try {
    validator.validate(text);
    nodes = parser().parse(text) as XmlNode[];
  } catch (error) {
    throw new XmlBodyError(null, `the body is not well-formed XML: ${(error as Error).message}`);
  }
  const roots = nodes.filter((node) => !isText(node));
  if (roots.length !== 1 || nodes.some((node) => isText(node) && node[TEXT].trim() !== "")) {
    throw new XmlBodyError(null, "the body must have exactly one root element");
  }
  const [root] = roots;
  if (!root) throw new XmlBodyError(null, "the body must have exactly one root element");
  return valueOf(root, null);
}

/** `emails` -> `email`, `addresses` -> `address`, `entries` -> `entry`; null when not a plural. */
function singular(name: string): string | null {
  if (name.endsWith("ies")) return `${name.slice(0, -3)}y`;
  if (/(ss|x|ch|sh)es$/.test(name)) return name.slice(0, -2);
  if (/[^s]s$/.test(name)) return name.slice(0, -1);
  return null;
}

/** The element for `value` named `name`; `itemName` names an array's items. */
function nodeOf(name: string, value: unknown, itemName: string): XmlNode {
  const valid = ELEMENT_NAME.test(name) && !GUARDED_NAMES.has(name);
  const tag = valid ? name : "_";
  const attributes: Record<string, string> = valid ? {} : { key: name };
  const element = (children: XmlNode[], extra: Record<string, string> = {}): XmlNode => {
    const all = { ...attributes, ...extra };
    return Object.keys(all).length > 0 ? { [tag]: children, [ATTRIBUTES]: all } : { [tag]: children };
  };
  if (value === null || value === undefined) return element([], { nil: "true" });
  if (Array.isArray(value)) {
    const items = value.map((item) => nodeOf(itemName, item, "item"));
    return element(items, { type: "array" });
  }
  if (typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    const children = entries.map(([key, v]) =>
      // A page's `items` are named for the resource (`<contacts><items><contact>`).
      nodeOf(key, v, (key === "items" ? singular(name) : singular(key)) ?? "item"),
    );
    return element(children, entries.length === 0 ? { type: "object" } : {});
  }
  if (typeof value === "number") return element([{ [TEXT]: String(value) }], { type: "number" });
  if (typeof value === "boolean") return element([{ [TEXT]: String(value) }], { type: "boolean" });
  if (typeof value !== "string") throw new TypeError(`not a JSON value: ${typeof value}`);
  return element(value === "" ? [] : [{ [TEXT]: value }]);
}

/** `value` as an XML document whose root element is `root` (see the mapping above). */
export function jsonToXml(value: unknown, root: string): string {
  // As the JSON answer would be (dates as ISO text, undefined members left out).
  const json = value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
  const document = nodeOf(root, json, singular(root) ?? "item");
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build([document])}`;
}

/**
 * The root element of a route's answers: the resource its path names, singular for one record
 * (`/contacts` -> `contacts`, `/contacts/{id}` -> `contact`, `/accounts/by-key/{type}/{key}` -> `account`,
 * and a create's answer, `created`, is one record too).
 */
export function rootElementOf(path: string, created = false): string {
  const segments = path.split("/").filter(Boolean);
  const last = segments.findLastIndex((s) => !s.startsWith("{") && !s.startsWith("by-"));
  const name = segments[last] ?? "resource";
  const one = created || last < segments.length - 1;
  return one ? (singular(name) ?? name) : name;
}
