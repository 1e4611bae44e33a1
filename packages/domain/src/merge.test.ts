import { describe, expect, it } from "vitest";

import { ContactInput } from "./contact.js";
import type { ContactInput as ContactInputType } from "./contact.js";
import { mergeContacts } from "./merge.js";

const T = "00000000-0000-4000-8000-000000000001";
const S1 = "00000000-0000-4000-8000-000000000002";
const S2 = "00000000-0000-4000-8000-000000000003";
const OTHER = "00000000-0000-4000-8000-000000000004";

const contact = (id: string, input: Partial<ContactInputType>) => ({
  id,
  data: ContactInput.parse({ subtype: "person", ...input }),
});

describe("mergeContacts", () => {
  const target = contact(T, {
    firstName: "Jon",
    lastName: "Smith",
    emails: [{ address: "jon@example.com", primary: true }],
    phones: [{ number: "+1 212 555 0100" }],
    roles: ["PRIMARY"],
    customFields: { tier: "gold" },
    portalDelegates: [S1],
  });
  const source = contact(S1, {
    firstName: "John",
    lastName: "Smith",
    jobTitle: "Engineer",
    emails: [{ address: "JON@example.com" }, { address: "john@work.example", primary: true }],
    phones: [{ number: "(212) 555-0100", country: "US" }, { number: "+1 212 555 0199" }],
    addresses: [{ city: "New York", postalCode: "10001" }],
    roles: ["BILLING", "PRIMARY"],
    customFields: { tier: "silver", region: "east" },
    userIds: ["user-1"],
    spouseId: T,
    notificationPreferences: { doNotCall: true },
  });

  it("unions lists by normalized value, keeps one primary, fills empty fields, names conflicts", () => {
    const { data, conflicts } = mergeContacts(target, [source]);
    expect(data.firstName).toBe("Jon");
    expect(data.jobTitle).toBe("Engineer");
    expect(data.emails.map((e) => [e.address, e.primary])).toEqual([
      ["jon@example.com", true],
      ["john@work.example", false],
    ]);
    expect(data.phones.map((p) => p.e164)).toEqual(["+12125550100", "+12125550199"]);
    expect(data.addresses).toHaveLength(1);
    expect(data.roles).toEqual(["PRIMARY", "BILLING"]);
    expect(data.userIds).toEqual(["user-1"]);
    expect(data.customFields).toEqual({ tier: "gold", region: "east" });
    expect(data.notificationPreferences.doNotCall).toBe(true);
    // links between the merged contacts disappear
    expect(data.spouseId).toBeNull();
    expect(data.portalDelegates).toEqual([]);
    expect(conflicts).toEqual([
      { field: "firstName", sourceId: S1 },
      { field: "customFields.tier", sourceId: S1 },
    ]);
  });

  it("takes the sources' values with prefer: sources, the first source winning", () => {
    const second = contact(S2, { firstName: "Johnny", lastName: "Smith", spouseId: OTHER });
    const { data } = mergeContacts(target, [source, second], "sources");
    expect(data.firstName).toBe("John");
    expect(data.customFields.tier).toBe("silver");
    expect(data.spouseId).toBe(OTHER);
  });

  it("changes neither input", () => {
    const before = JSON.stringify([target, source]);
    mergeContacts(target, [source], "sources");
    expect(JSON.stringify([target, source])).toBe(before);
  });
});
