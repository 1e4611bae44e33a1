import { describe, expect, it } from "vitest";

import { XmlBodyError, jsonToXml, rootElementOf, xmlToJson } from "./xml.js";

function fieldOf(text: string): string | null {
  try {
    xmlToJson(text);
  } catch (error) {
    if (error instanceof XmlBodyError) return error.field;
    throw error;
  }
  throw new Error("parsed");
}

describe("the XML mapping", () => {
  it("round-trips every JSON type, one- and zero-item arrays, empty objects and strings", () => {
    const value = {
      id: "0b7c",
      version: 3,
      ratio: -1.25e-7,
      locked: false,
      integration: true,
      spouseId: null,
      middleName: "",
      notes: "  spaced, & <escaped> \"quoted\" 'text' ]]>\nsecond line ",
      roles: ["PRIMARY"],
      userIds: [],
      emails: [{ address: "jane@example.com", label: "work", primary: true }],
      phones: [
        { number: "+1 210 555 0100", primary: false },
        { number: "+1 210 555 0101", primary: true },
      ],
      social: {},
      customFields: { tier: "gold", score: 7, vip: true, gone: null },
      nested: [[1, 2], [], [{}]],
      "not an xml name": "kept",
      __proto__member: "x",
    };
    const xml = jsonToXml(value, "contact");
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<contact>')).toBe(true);
    expect(xmlToJson(xml)).toEqual(value);
    expect(xml).toContain('<roles type="array"><role>PRIMARY</role></roles>');
    expect(xml).toContain('<userIds type="array"/>');
    expect(xml).toContain('<spouseId nil="true"/>');
    expect(xml).toContain('<_ key="not an xml name">kept</_>');
  });

  it("round-trips a page and a top-level array, items named for the resource", () => {
    const page = { items: [{ id: "a", lastName: "One" }], nextCursor: null };
    const xml = jsonToXml(page, "contacts");
    expect(xml).toContain('<items type="array"><contact><id>a</id>');
    expect(xmlToJson(xml)).toEqual(page);
    expect(xmlToJson(jsonToXml([], "channels"))).toEqual([]);
    expect(xmlToJson(jsonToXml([{ label: "general" }], "channels"))).toEqual([{ label: "general" }]);
  });

  it("writes what JSON.stringify would: dates as ISO text, undefined members left out", () => {
    const xml = jsonToXml({ at: new Date(0), skipped: undefined }, "contact");
    expect(xmlToJson(xml)).toEqual({ at: "1970-01-01T00:00:00.000Z" });
  });

  it("keeps prototype-guarded names as members, never as the prototype", () => {
    const value = JSON.parse('{"__proto__":"a","constructor":"b","toString":"c"}') as object;
    const back = xmlToJson(jsonToXml(value, "contact")) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.entries(back)).toEqual([
      ["__proto__", "a"],
      ["constructor", "b"],
      ["toString", "c"],
    ]);
  });

  it("reads hand-written documents: declaration, comments, CDATA, character references, namespaces, indentation", () => {
    const text = `<?xml version="1.0" encoding="UTF-8"?>
      <!-- a Rackspace-style document -->
      <ns1:contact xmlns:ns1="http://customer.api.rackspace.com/v1">
        <ns1:firstName>Ren&#233;e &amp; co</ns1:firstName>
        <notes><![CDATA[<b>as is</b>]]></notes>
        <roles type="array">
          <role>BILLING</role>
        </roles>
      </ns1:contact>`;
    expect(xmlToJson(text)).toEqual({ firstName: "Renée & co", notes: "<b>as is</b>", roles: ["BILLING"] });
  });

  it("names the element of a value that breaks the mapping", () => {
    expect(fieldOf('<c><emails type="array"><e><primary type="boolean">yes</primary></e></emails></c>')).toBe(
      "emails.0.primary",
    );
    expect(fieldOf('<c><version type="number">1.</version></c>')).toBe("version");
    expect(fieldOf("<c><a>1</a><a>2</a></c>")).toBe("a");
    expect(fieldOf('<c><a colour="red">1</a></c>')).toBe("a");
    expect(fieldOf('<c><a type="date">1</a></c>')).toBe("a");
    expect(fieldOf("<c><a>text<b/></a></c>")).toBe("a");
    expect(fieldOf('<c><a nil="true">x</a></c>')).toBe("a");
  });

  it("refuses documents that are not well-formed, have several roots, or carry a DOCTYPE", () => {
    for (const text of [
      "{not xml",
      "<c><a></c>",
      "<c/><d/>",
      "<c/>trailing",
      "<c>&undeclared</c>",
      "<a>".repeat(100) + "</a>".repeat(100),
      '<!DOCTYPE c SYSTEM "file:///etc/passwd"><c>&xxe;</c>',
      '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><c>&lol2;</c>',
    ]) {
      expect(fieldOf(text), text).toBeNull();
    }
  });
});

describe("rootElementOf", () => {
  it("names the resource a path serves", () => {
    expect(rootElementOf("/contacts")).toBe("contacts");
    expect(rootElementOf("/contacts", true)).toBe("contact");
    expect(rootElementOf("/contacts/{id}")).toBe("contact");
    expect(rootElementOf("/contacts/by-external-id/{externalId}")).toBe("contact");
    expect(rootElementOf("/contacts/{id}/history")).toBe("history");
    expect(rootElementOf("/accounts/by-key/{type}/{key}")).toBe("account");
    expect(rootElementOf("/accounts/{accountId}/channels")).toBe("channels");
    expect(rootElementOf("/accounts/{accountId}/channels/{id}")).toBe("channel");
  });
});
