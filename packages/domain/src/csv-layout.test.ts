import { describe, expect, it } from "vitest";

import { ContactInput } from "./contact.js";
import {
  CSV_FIELDS,
  CSV_HEADERS,
  csvContactKey,
  contactToCsvRecord,
  csvFieldOfPath,
  csvRecordToContact,
  neutralizeCell,
  recordFields,
  resolveCsvMapping,
  restoreCell,
} from "./csv-layout.js";

describe("CSV layout", () => {
  it("knows common export headers as aliases, whatever their case or punctuation", () => {
    const mapping = resolveCsvMapping([
      "\uFEFFFirst Name",
      "last_name",
      "E-mail",
      "Zip",
      "firstname2",
      "Company Name",
    ]);
    expect(mapping.columns).toEqual(["firstName", "lastName", "email", "postalCode", null, "companyName"]);
    expect(mapping.unmapped).toEqual(["firstname2"]);
  });

  it("lets an explicit mapping override or ignore a column, and reports a field filled twice", () => {
    const mapping = resolveCsvMapping(["Given", "Email", "Mail"], {
      Given: "firstName",
      Email: null,
      Mail: "email",
    });
    expect(mapping.columns).toEqual(["firstName", null, "email"]);
    expect(resolveCsvMapping(["A", "B"], { A: "email", B: "email" }).repeated).toEqual([
      { field: "email", headers: ["A", "B"] },
    ]);
    // An explicit mapping beats a column known by an alias, which is ignored.
    expect(resolveCsvMapping(["Email", "Mail"], { Mail: "email" })).toMatchObject({
      columns: [null, "email"],
      repeated: [],
      ignored: [{ header: "Email", field: "email", kept: "Mail" }],
    });
  });

  it("keeps the better alias when two columns name one field, as Outlook's export does, and reports the other", () => {
    const outlook = [
      "Title",
      "First Name",
      "Middle Name",
      "Last Name",
      "Suffix",
      "Company",
      "Department",
      "Job Title",
      "Mobile Phone",
      "Primary Phone",
      "E-mail Address",
      "E-mail 2 Address",
      "Birthday",
      "Notes",
    ];
    const mapping = resolveCsvMapping(outlook);
    expect(mapping.repeated).toEqual([]);
    expect(mapping.ignored).toEqual([
      { header: "Title", field: "jobTitle", kept: "Job Title" },
      { header: "Mobile Phone", field: "phone", kept: "Primary Phone" },
    ]);
    expect(mapping.columns[outlook.indexOf("Job Title")]).toBe("jobTitle");
    expect(mapping.columns[outlook.indexOf("Primary Phone")]).toBe("phone");
    expect(new Set(mapping.columns.filter(Boolean)).size).toBe(mapping.columns.filter(Boolean).length);
    // Equal aliases: the first column keeps the field.
    expect(resolveCsvMapping(["E-mail", "Email"]).ignored).toEqual([
      { header: "Email", field: "email", kept: "E-mail" },
    ]);
  });

  it("neutralizes formula cells but leaves E.164 phones usable, and restores both on import", () => {
    for (const formula of ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx"]) {
      expect(neutralizeCell(formula)).toBe(`'${formula}`);
      expect(restoreCell(neutralizeCell(formula))).toBe(formula);
    }
    expect(neutralizeCell("+14155550100")).toBe("+14155550100");
    expect(neutralizeCell("Ada")).toBe("Ada");
    expect(restoreCell("'quoted")).toBe("'quoted");
  });

  it("round-trips a contact through the export layout", () => {
    const contact = ContactInput.parse({
      subtype: "person",
      firstName: "Ada",
      lastName: "Lovelace",
      emails: [{ address: "ada@example.com", primary: true }, { address: "=evil@example.com" }],
      phones: [{ number: "+44 20 7946 0958", primary: true }],
      addresses: [{ city: "London", postalCode: "SW1Y 4JH", country: "GB", primary: true }],
      roles: ["PRIMARY", "BILLING"],
      externalId: "crm-1",
    });
    const record = contactToCsvRecord(contact);
    expect(record).toHaveLength(CSV_HEADERS.length);
    const back = ContactInput.parse(csvRecordToContact(recordFields(record, resolveCsvMapping(CSV_HEADERS))));
    expect(back.emails.map((e) => e.address)).toEqual(["ada@example.com", "=evil@example.com"]);
    expect(back.phones[0]?.e164).toBe("+442079460958");
    expect([back.firstName, back.lastName, back.externalId, back.roles]).toEqual([
      "Ada",
      "Lovelace",
      "crm-1",
      ["PRIMARY", "BILLING"],
    ]);
    expect(back.addresses[0]).toMatchObject({ city: "London", postalCode: "SW1Y 4JH", country: "GB" });
  });

  it("maps Salutation to the salutation, not the prefix, and reads the rolodex's headers", () => {
    const mapping = resolveCsvMapping([
      "Salutation",
      "Prefix",
      "image_url",
      "link_work_address_to_organization",
      "communication_preferences",
    ]);
    expect(mapping.columns).toEqual([
      "salutation",
      "prefix",
      "imageUrl",
      "linkWorkAddressToAccount",
      "communicationPreferences",
    ]);
    const contact = ContactInput.parse(
      csvRecordToContact({
        firstName: "Ada",
        lastName: "Lovelace",
        salutation: "Dear Ada",
        linkWorkAddressToAccount: "Yes",
        linkWorkPhoneToAccount: "0",
        communicationPreferences: "news, weekly; events",
      }),
    );
    expect([
      contact.prefix,
      contact.salutation,
      contact.linkWorkAddressToAccount,
      contact.linkWorkPhoneToAccount,
      contact.communicationPreferences,
    ]).toEqual([null, "Dear Ada", true, false, ["news, weekly", "events"]]);
  });

  it("makes a record with only a company name a company, and maps error paths back to fields", () => {
    expect(csvRecordToContact({ companyName: "Acme" }).subtype).toBe("company");
    expect(csvFieldOfPath(["emails", 1, "address"])).toBe("email2");
    expect(csvFieldOfPath(["addresses", 0, "postalCode"])).toBe("postalCode");
    expect(csvFieldOfPath(["dateOfBirth"])).toBe("dateOfBirth");
  });

  it("names the contact field each CSV field fills, the one a record's value of it lands in", () => {
    expect(csvContactKey("email2")).toBe("emails");
    expect(csvContactKey("phone")).toBe("phones");
    expect(csvContactKey("postalCode")).toBe("addresses");
    expect(csvContactKey("salutation")).toBe("salutation");
    const filled = {
      email2: "a@example.com",
      phone: "+12125550100",
      postalCode: "10001",
      salutation: "Dear Ada",
    };
    const contact = csvRecordToContact(filled) as Record<string, unknown>;
    for (const field of Object.keys(filled) as (keyof typeof filled)[]) {
      expect(contact[csvContactKey(field)]).toBeDefined();
    }
    expect(new Set(CSV_FIELDS.map(csvContactKey)).size).toBeLessThan(CSV_FIELDS.length);
  });
});
