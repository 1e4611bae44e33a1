import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startHarness } from "../testing/harness.js";
import type { Harness } from "../testing/harness.js";
import { jsonToXml, xmlToJson } from "./xml.js";

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ maxBodyBytes: 64 * 1024 });
});

afterAll(async () => {
  await h.close();
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** A plain HTTP call with an XML body and/or `Accept: application/xml` (or whatever `headers` say). */
async function call(
  method: string,
  path: string,
  options: { xml?: string; json?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${h.alphaKey}` };
  let body: string | undefined;
  if (options.xml !== undefined) {
    headers["content-type"] = "application/xml";
    body = options.xml;
  } else if (options.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const response = await fetch(`${h.url}${path}`, {
    method,
    headers: { accept: "application/xml", ...headers, ...options.headers },
    ...(body !== undefined ? { body } : {}),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function xmlOf(answer: Answer): unknown {
  expect(answer.headers.get("content-type")).toMatch(/^(application|text)\/xml; charset=UTF-8$/i);
  return xmlToJson(answer.text);
}

function errorsOf(answer: Answer): { reason: string; field: string | null }[] {
  expect(answer.text).toMatch(/^<\?xml [^>]*\?>\n<fault>/);
  const body = xmlOf(answer) as { message: string; errors: { reason: string; field: string | null }[] };
  expect(typeof body.message).toBe("string");
  return body.errors;
}

/** A contact as a caller writes it by hand: every list with one item, typed values, nested objects. */
const CONTACT_XML = `<?xml version="1.0" encoding="UTF-8"?>
<contact>
  <subtype>person</subtype>
  <firstName>Renée</firstName>
  <lastName>Xml &amp; Sons</lastName>
  <middleName/>
  <jobTitle>Director of IT</jobTitle>
  <roles type="array"><role>PRIMARY</role></roles>
  <emails type="array">
    <email><address>renee.xml@example.com</address><label>work</label><primary type="boolean">true</primary></email>
  </emails>
  <phones type="array">
    <phone><number>+1 210 555 0100</number><primary type="boolean">true</primary><mask>(###)-###-####</mask></phone>
  </phones>
  <addresses type="array">
    <address><line1>5000 Walzem Road</line1><city>San Antonio</city><state>Texas</state><postalCode>78218</postalCode><country>US</country><primary type="boolean">true</primary></address>
  </addresses>
  <userIds type="array"/>
  <notificationPreferences><doNotCall type="boolean">true</doNotCall></notificationPreferences>
  <customFields><tier>gold</tier><score type="number">7</score><vip type="boolean">true</vip><gone nil="true"/></customFields>
  <dateOfBirth>1980-02-29</dateOfBirth>
</contact>`;

describe("contacts in XML", () => {
  it("creates from an XML body, reads back as XML equal to the JSON read, field for field", async () => {
    const created = await call("POST", "/v1/contacts", { xml: CONTACT_XML });
    expect(created.status).toBe(201);
    expect(created.text).toMatch(/^<\?xml [^>]*\?>\n<contact>/);
    const contact = xmlOf(created) as { id: string; version: number };
    expect(created.headers.get("location")).toBe(`/v1/contacts/${contact.id}`);
    expect(created.headers.get("etag")).toBe('"1"');
    expect(created.headers.get("vary")).toBe("Accept");

    const asXml = await call("GET", `/v1/contacts/${contact.id}`);
    expect(asXml.status).toBe(200);
    expect(asXml.headers.get("etag")).toBe('"1"');
    const asJson = await call("GET", `/v1/contacts/${contact.id}`, {
      headers: { accept: "application/json" },
    });
    expect(asJson.headers.get("content-type")).toMatch(/^application\/json/);
    const json = JSON.parse(asJson.text) as Record<string, unknown>;

    const fromXml = xmlOf(asXml) as Record<string, unknown>;
    expect(fromXml).toEqual(json);
    expect(xmlOf(created)).toEqual(json);
    // What was sent came back typed: one-item lists as lists, booleans, numbers, null, "" as given.
    expect(fromXml).toMatchObject({
      firstName: "Renée",
      lastName: "Xml & Sons",
      roles: ["PRIMARY"],
      userIds: [],
      emails: [{ address: "renee.xml@example.com", label: "work", primary: true }],
      phones: [{ number: "+1 210 555 0100", primary: true, mask: "(###)-###-####" }],
      addresses: [{ line1: "5000 Walzem Road", city: "San Antonio", country: "US", primary: true }],
      notificationPreferences: { doNotCall: true, doNotEmail: false },
      customFields: { tier: "gold", score: 7, vip: true, gone: null },
      dateOfBirth: "1980-02-29",
      version: 1,
    });
    expect(Array.isArray(fromXml.roles) && Array.isArray(fromXml.emails)).toBe(true);
  });

  it("replaces with an XML body the JSON read turned into XML (If-Match), and the answer matches", async () => {
    const created = await call("POST", "/v1/contacts", {
      json: { subtype: "person", firstName: "Round", lastName: "Trip", roles: ["BILLING"] },
      headers: { accept: "application/json" },
    });
    const { id } = JSON.parse(created.text) as { id: string };
    const body = {
      subtype: "person",
      firstName: "Round",
      lastName: "Tripped",
      roles: ["BILLING"],
      emails: [],
    };
    const replaced = await call("PUT", `/v1/contacts/${id}`, {
      xml: jsonToXml(body, "contact"),
      headers: { "if-match": '"1"' },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get("etag")).toBe('"2"');
    expect(xmlOf(replaced)).toMatchObject({
      lastName: "Tripped",
      roles: ["BILLING"],
      emails: [],
      version: 2,
    });

    const stale = await call("PUT", `/v1/contacts/${id}`, {
      xml: jsonToXml(body, "contact"),
      headers: { "if-match": '"1"' },
    });
    expect(stale.status).toBe(412);
    expect(errorsOf(stale)).toEqual([{ reason: "version_mismatch", field: "If-Match" }]);

    // JSON Patch stays JSON: an XML body there is a 415 (answered in XML, as asked).
    const patch = await call("PATCH", `/v1/contacts/${id}`, { xml: "<patch/>" });
    expect(patch.status).toBe(415);
    expect(errorsOf(patch)).toEqual([{ reason: "invalid", field: "Content-Type" }]);
  });

  it("answers validation errors in XML with the same reasons and fields as JSON", async () => {
    const xml = `<contact><subtype>person</subtype><lastName>X</lastName>
      <emails type="array"><email><address>not an address</address></email></emails>
      <colour>red</colour></contact>`;
    const invalid = await call("POST", "/v1/contacts", { xml });
    expect(invalid.status).toBe(400);
    const errors = errorsOf(invalid);
    expect(errors).toContainEqual({ reason: "required", field: "firstName" });
    expect(errors).toContainEqual({ reason: "invalid", field: "emails.0.address" });
    expect(errors).toContainEqual({ reason: "unknown_field", field: "colour" });

    const asJson = await call("POST", "/v1/contacts", {
      json: xmlToJson(xml),
      headers: { accept: "application/json" },
    });
    expect(asJson.status).toBe(400);
    expect((JSON.parse(asJson.text) as { errors: unknown[] }).errors).toEqual(errors);

    // A boolean written without its type is text, which the schema refuses at that field.
    const untyped = await call("POST", "/v1/contacts", {
      xml: `<contact><subtype>person</subtype><firstName>A</firstName><lastName>B</lastName><locked>true</locked></contact>`,
    });
    expect(untyped.status).toBe(400);
    expect(errorsOf(untyped)).toEqual([{ reason: "invalid", field: "locked" }]);

    const missing = await call("GET", `/v1/contacts/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(errorsOf(missing)).toEqual([{ reason: "not_found", field: "id" }]);
  });

  it("answers malformed XML, a DOCTYPE (billion laughs, XXE) and a mapping error with 400, never 500", async () => {
    const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  ${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? "" : i};`.repeat(10)}">`).join("\n  ")}
]>
<contact><firstName>&lol9;</firstName></contact>`;
    const cases: [string, string | null][] = [
      ["<contact><firstName>Jane</contact>", null],
      ['{"subtype":"person"}', null],
      ["<contact/><contact/>", null],
      [laughs, null],
      [
        '<!DOCTYPE c [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><contact><notes>&xxe;</notes></contact>',
        null,
      ],
      [
        '<contact><emails type="array"><email><primary type="boolean">yes</primary></email></emails></contact>',
        "emails.0.primary",
      ],
      ["<contact><firstName>A</firstName><firstName>B</firstName></contact>", "firstName"],
    ];
    for (const [xml, field] of cases) {
      const started = Date.now();
      const answer = await call("POST", "/v1/contacts", { xml });
      expect(answer.status, xml).toBe(400);
      expect(errorsOf(answer), xml).toEqual([{ reason: "invalid", field }]);
      expect(Date.now() - started).toBeLessThan(2_000);
    }
    const textXml = await call("POST", "/v1/contacts", {
      xml: "<contact><subtype>person</subtype></contact>",
      headers: { "content-type": "text/xml; charset=utf-8", accept: "text/xml" },
    });
    expect(textXml.status).toBe(400);
    expect(textXml.headers.get("content-type")).toMatch(/^text\/xml/);
    expect(errorsOf(textXml)).toContainEqual({ reason: "required", field: "firstName" });
  });

  it("limits XML bodies by the same body limit (413, in XML)", async () => {
    const notes = "x".repeat(70 * 1024);
    const tooBig = await call("POST", "/v1/contacts", {
      xml: `<contact><subtype>person</subtype><notes>${notes}</notes></contact>`,
    });
    expect(tooBig.status).toBe(413);
    expect(errorsOf(tooBig)).toEqual([{ reason: "payload_too_large", field: null }]);
  });

  it("pages a search in XML: items as repeated <contact> elements, nextCursor, Link", async () => {
    for (const n of [1, 2, 3]) {
      const created = await call("POST", "/v1/contacts", {
        xml: `<contact><subtype>person</subtype><firstName>P</firstName><lastName>XmlPaged${n}</lastName></contact>`,
      });
      expect(created.status).toBe(201);
    }
    const first = await call("GET", "/v1/contacts?lastName=XmlPaged&limit=2&sort[field]=lastName");
    expect(first.status).toBe(200);
    expect(first.text).toMatch(/<contacts><items type="array"><contact>/);
    const page = xmlOf(first) as { items: { lastName: string }[]; nextCursor: string };
    expect(page.items.map((c) => c.lastName)).toEqual(["XmlPaged1", "XmlPaged2"]);
    const link = /^<([^>]+)>; rel="next"$/.exec(first.headers.get("link") ?? "");
    expect(link?.[1]).toContain(`cursor=${encodeURIComponent(page.nextCursor)}`);

    const last = await call("GET", link?.[1] ?? "");
    const lastPage = xmlOf(last) as { items: { lastName: string }[]; nextCursor: null };
    // One item is still a list; the last page's cursor is null.
    expect(lastPage.items.map((c) => c.lastName)).toEqual(["XmlPaged3"]);
    expect(lastPage.nextCursor).toBeNull();

    const none = xmlOf(await call("GET", "/v1/contacts?lastName=NoSuchXmlName")) as { items: unknown[] };
    expect(none.items).toEqual([]);
  });

  it("answers JSON when Accept prefers it, names it, or is absent; XML when it is preferred", async () => {
    const path = "/v1/contacts?limit=1";
    for (const accept of ["application/json", "*/*", "application/json, application/xml", ""]) {
      const answer = await call("GET", path, { headers: { accept } });
      expect(answer.status, accept).toBe(200);
      expect(answer.headers.get("content-type"), accept).toMatch(/^application\/json/);
      expect(() => JSON.parse(answer.text) as unknown, accept).not.toThrow();
    }
    for (const accept of [
      "application/xml",
      "application/json;q=0.5, application/xml",
      "application/xml, */*",
    ]) {
      const answer = await call("GET", path, { headers: { accept } });
      expect(answer.headers.get("content-type"), accept).toMatch(/^application\/xml/);
    }
    // Other resources stay JSON.
    const roles = await call("GET", "/v1/roles");
    expect(roles.headers.get("content-type")).toMatch(/^application\/json/);
  });
});

describe("accounts in XML", () => {
  it("creates an account and a channel from XML, reads them back as XML equal to JSON", async () => {
    const created = await call("POST", "/v1/accounts", {
      xml: `<account><type>CLOUD</type><key>xml-1</key><name>Xml Account</name>
        <address><line1>1 Fanatical Place</line1><city>San Antonio</city><country>US</country></address></account>`,
    });
    expect(created.status).toBe(201);
    expect(created.text).toMatch(/<account>/);
    const account = xmlOf(created) as { id: string };
    expect(created.headers.get("location")).toBe(`/v1/accounts/${account.id}`);

    const byKey = await call("GET", "/v1/accounts/by-key/CLOUD/xml-1");
    expect(byKey.text).toMatch(/^<\?xml [^>]*\?>\n<account>/);
    const json = JSON.parse(
      (await call("GET", `/v1/accounts/${account.id}`, { headers: { accept: "application/json" } })).text,
    ) as unknown;
    expect(xmlOf(byKey)).toEqual(json);
    expect(json).toMatchObject({ parentId: null, address: { line1: "1 Fanatical Place", line2: null } });

    const channel = await call("POST", `/v1/accounts/${account.id}/channels`, {
      xml: "<channel><label>general</label><email>desk@example.com</email></channel>",
    });
    expect(channel.status).toBe(201);
    expect(channel.text).toMatch(/<channel>/);
    const channels = await call("GET", `/v1/accounts/${account.id}/channels`);
    expect(channels.text).toMatch(/<channels type="array"><channel>/);
    expect(xmlOf(channels)).toEqual([xmlOf(channel)]);

    const invalid = await call("POST", "/v1/accounts", {
      xml: "<account><type>CLOUD</type><key>xml-2</key></account>",
    });
    expect(invalid.status).toBe(400);
    expect(errorsOf(invalid)).toContainEqual({ reason: "required", field: "name" });
  });
});

describe("the OpenAPI document", () => {
  it("lists the XML media types on the contact and account operations only (JSON Patch stays JSON)", async () => {
    interface Op {
      requestBody?: { content: Record<string, { example?: unknown }> };
      responses: Record<string, { $ref?: string; content?: Record<string, unknown> }>;
    }
    const doc = (await (await fetch(`${h.url}/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Op>>;
      components: { responses: Record<string, { content: Record<string, unknown> }> };
    };
    const create = doc.paths["/v1/contacts"]?.post;
    expect(Object.keys(create?.requestBody?.content ?? {})).toEqual([
      "application/json",
      "application/xml",
      "text/xml",
    ]);
    const example = create?.requestBody?.content["application/xml"]?.example as string;
    expect(xmlToJson(example)).toEqual(create?.requestBody?.content["application/json"]?.example);
    expect(Object.keys(create?.responses["201"]?.content ?? {})).toContain("application/xml");
    expect(create?.responses["400"]?.$ref).toBe("#/components/responses/BadRequestXml");
    expect(Object.keys(doc.components.responses.BadRequestXml?.content ?? {})).toContain("application/xml");
    expect(Object.keys(doc.paths["/v1/accounts/{id}"]?.get?.responses["200"]?.content ?? {})).toContain(
      "text/xml",
    );
    expect(Object.keys(doc.paths["/v1/contacts/{id}"]?.patch?.requestBody?.content ?? {})).toEqual([
      "application/json-patch+json",
    ]);
    expect(doc.paths["/v1/roles"]?.get?.responses["400"]?.$ref).toBe("#/components/responses/BadRequest");
  });
});
