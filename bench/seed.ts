/**
 * Loads a realistic tenant fast: accounts in a hierarchy and contacts with names, emails, phones and
 * addresses drawn from realistic lists, so search filters see realistic selectivity.
 *
 * Everything is set-based SQL (`insert ... select ... from generate_series`, one statement per
 * chunk), sent on the OWNER connection: a superuser, which row-level security does not bind. Values
 * are picked with a hash of the row index (`hashint8extended`), so a seed of the same size gives the
 * same names, places and account links every time (ids and timestamps differ).
 *
 * No tax IDs: the API stores them encrypted (ciphertext, key id, per-tenant blind index) with a
 * keyring this script does not hold, so seeded contacts have none.
 *
 * CLI: `DATABASE_URL=<owner url> SEED_TENANT=acme SEED_CONTACTS=1000000 node --conditions=source --import tsx seed.ts`
 * (the tenant is created with an all-permission API key, printed once, when it does not exist).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

import pg from "pg";

export interface SeedOptions {
  tenantId: string;
  contacts: number;
  /** Accounts to create (default 20,000, or fewer for small tenants); about 90% of contacts get one. */
  accounts?: number;
  /** Called after each chunk with the number of contacts inserted so far. */
  onProgress?: (done: number) => void;
}

const CHUNK = 100_000;

const words = (s: string): string[] => s.trim().split(/\s+/);
const lines = (s: string): string[] =>
  s
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);

// Most common first, since picks are skewed toward the start of each list (see `skewed`).
const FIRST_NAMES = words(`
  James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan
  Joseph Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy Matthew Betty Anthony Sandra
  Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol
  Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Dorothy Jason Rebecca Edward
  Sharon Jeffrey Laura Ryan Cynthia Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan
  Brenda Stephen Emma Larry Anna Justin Pamela Scott Nicole Brandon Samantha Benjamin Katherine Samuel
  Christine Gregory Helen Alexander Debra Patrick Rachel Frank Carolyn Raymond Janet Jack Maria Dennis
  Catherine Jerry Heather Tyler Diane Aaron Olivia Jose Julie Adam Joyce Nathan Victoria Henry Ruth
  Zachary Virginia Douglas Lauren Peter Kelly Kyle Christina Noah Joan Ethan Evelyn Jeremy Judith
  Walter Andrea Christian Hannah Keith Megan Roger Cheryl Terry Jacqueline Austin Martha Sean Madison
  Gerald Teresa Carl Gloria Harold Sara Dylan Janice Arthur Ann Lawrence Kathryn Jordan Abigail Jesse
  Sophia Bryan Frances Billy Jean Bruce Alice Gabriel Judy Joe Isabella Logan Julia Alan Grace Juan
  Amber Albert Denise Willie Danielle Elijah Marilyn Wayne Beverly Randy Charlotte Vincent Natalie
  Mason Theresa Roy Diana Ralph Brittany Bobby Doris Russell Kayla Bradley Alexis Philip Lori Eugene
  Marie Alexandra Alexa Aleksandr Alejandro Alessandro Alina Aisha Ahmed Mohammed Fatima Omar Ali
  Priya Rahul Anjali Arjun Vikram Deepa Sanjay Neha Wei Li Mei Hiroshi Yuki Kenji Sakura Haruto
  Chen Jin Min Seo Ji Hyun Lucas Mateo Sofia Valentina Santiago Camila Diego Lucia Pablo Carmen
  Javier Elena Luis Marta Miguel Ines Rafael Beatriz Tomas Clara Hugo Leon Lena Felix Lea Jonas
  Mia Paul Greta Finn Ida Emil Astrid Lars Ingrid Sven Freya Nils Elsa Pierre Camille Louis Chloe
  Antoine Manon Julien Margaux Giulia Marco Francesca Luca Chiara Matteo Aoife Sean Niamh Cian
  Siobhan Oisin Liam Ava Oliver Amelia Harry Isla Jake Poppy Connor Ruby Declan Freya Rory Maeve
  Kwame Amara Chidi Ngozi Tunde Zara Yusuf Leila Karim Nadia Tariq Samira Dmitri Natasha Ivan Olga
  Sergei Anastasia Piotr Agnieszka Tomasz Katarzyna Jakub Zofia
`);

const LAST_NAMES = words(`
  Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
  Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
  Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams
  Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker
  Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper
  Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James
  Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster
  Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher
  Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno
  West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall
  Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb
  Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
  Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren
  Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
  Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight
  Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry
  Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval
  Alexandrov Alexander Singh Kumar Sharma Gupta Shah Mehta Rao Iyer Wang Zhang Liu Yang Huang Zhao
  Wu Zhou Xu Sun Tanaka Suzuki Takahashi Watanabe Ito Yamamoto Nakamura Kobayashi Park Choi Jung
  Kang Cho Yoon Muller Schneider Fischer Weber Becker Schulz Hoffmann Koch Richter Klein Wolf
  Schroder Neumann Dubois Durand Leroy Moreau Laurent Lefebvre Michel Bernard Rossi Russo Ferrari
  Esposito Bianchi Romano Colombo Ricci Marino Greco OBrien Byrne OConnor Walsh McCarthy Gallagher
  Doyle Lynch Murray Quinn Novak Kowalski Nowak Wisniewski Wojcik Kaminski Ivanov Petrov Smirnov
  Volkov Sokolov Andersson Johansson Karlsson Nilsson Eriksson Larsen Jensen Nielsen Hansen Pedersen
  Okafor Adeyemi Mensah Nkosi Haddad Khalil Hussein Rahman Hassan Aziz
`);

const NICKNAMES = words(`
  Jim Jimmy Bob Bobby Rob Mike Mikey Dave Bill Will Liz Beth Betsy Kate Katie Kathy Jen Jenny Pat
  Patty Tom Tommy Chris Dan Danny Matt Tony Steve Andy Drew Josh Ken Kenny Ron Jeff Ed Eddie Nick
  Alex Sam Sammy Ben Benny Greg Pete Zach Doug Walt Chuck Hank Jack Joe Joey Abby Maddie Vicky Becky
  Sandy Cindy Debbie Peggy Maggie Meg Sue Suzy Nan Ally Lexi Sasha Misha Kat Teddy Freddie Charlie
`);

const JOB_TITLES = lines(`
  Software Engineer
  Senior Software Engineer
  Systems Administrator
  Network Engineer
  DevOps Engineer
  Site Reliability Engineer
  Database Administrator
  IT Manager
  IT Director
  Chief Technology Officer
  Chief Executive Officer
  Chief Financial Officer
  Chief Information Officer
  Chief Operating Officer
  Vice President of Engineering
  Vice President of Sales
  Director of Operations
  Operations Manager
  Product Manager
  Project Manager
  Program Manager
  Account Manager
  Account Executive
  Sales Representative
  Sales Manager
  Marketing Manager
  Marketing Coordinator
  Business Analyst
  Data Analyst
  Data Scientist
  Security Engineer
  Security Analyst
  Cloud Architect
  Solutions Architect
  Technical Lead
  Support Engineer
  Customer Success Manager
  Office Manager
  Executive Assistant
  Administrative Assistant
  Accountant
  Controller
  Billing Specialist
  Procurement Manager
  Purchasing Agent
  Human Resources Manager
  Recruiter
  Legal Counsel
  Compliance Officer
  Consultant
  Owner
  Founder
  President
  General Manager
  Web Developer
  Frontend Developer
  Backend Developer
  QA Engineer
  Help Desk Technician
  Infrastructure Manager
`);

const EMAIL_DOMAINS = words(`
  gmail.com outlook.com yahoo.com hotmail.com icloud.com protonmail.com aol.com
  acmecorp.com globex.com initech.com umbrella-corp.com hooli.com stark-industries.com wayne-ent.com
  cyberdyne.io soylent.co tyrell.com massive-dynamic.com vandelay.com wonka.com oscorp.com
  pied-piper.io aperture-labs.com black-mesa.org northwind.com contoso.com fabrikam.com adventure-works.com
  tailspin-toys.com litware.com proseware.com woodgrove-bank.com fourthcoffee.com wingtip-toys.com
  example.org example.net
`);

const STREETS = lines(`
  Main St
  Oak Ave
  Maple St
  Cedar Ln
  Pine St
  Elm St
  Washington Ave
  Lake Dr
  Hill Rd
  Park Ave
  Sunset Blvd
  Broadway
  Market St
  Church St
  High St
  River Rd
  Spring St
  Center St
  Mill Rd
  Highland Ave
  Forest Dr
  Jefferson St
  Lincoln Ave
  Madison Ave
  Franklin St
  Chestnut St
  Walnut St
  Willow Way
  Meadow Ln
  Ridge Rd
  Valley View Dr
  Industrial Pkwy
  Commerce Dr
  Technology Dr
  Innovation Way
  Airport Rd
  King St
  Queen St
  Victoria Rd
  Station Rd
  Bahnhofstrasse
  Hauptstrasse
  Rue de la Paix
  Calle Mayor
  Via Roma
`);

const BRANDS = words(`
  Acme Apex Atlas Aurora Beacon Blue Bright Cascade Cedar Summit Cobalt Coastal Crest Crystal Delta
  Eagle Echo Elevate Ember Evergreen Falcon Frontier Galaxy Granite Harbor Horizon Insight Iron
  Keystone Lakeside Liberty Lighthouse Lumen Magnolia Meridian Metro Millennium Nexus North Northwind
  Nova Oak Omega Onyx Orbit Pacific Paramount Peak Pinnacle Pioneer Polar Prairie Prime Quantum
  Radiant Redwood Ridge River Rocky Sage Sapphire Sequoia Sierra Silver Solar Sterling Stone Strata
  Summit Sun Synergy Titan Trinity True Unity Valley Vanguard Vector Velocity Vertex Vista Wave West
  Willow Zenith Contoso Globex Initech Hooli Umbrella Cyberdyne Tyrell Wonka Vandelay
`);

const SECTORS = words(`
  Logistics Health Financial Systems Software Solutions Networks Media Energy Foods Retail Capital
  Labs Analytics Consulting Manufacturing Motors Pharma Insurance Realty Hospitality Education
  Telecom Security Cloud Data Digital Partners Group Industries Holdings Ventures Technologies
  Dynamics Robotics Aerospace Biotech Legal Marketing Travel Apparel
`);

const COMPANY_SUFFIXES = words(`Inc LLC Ltd Corp GmbH SA Co PLC AG BV`);

const PREFIXES = words(`Mr. Ms. Mrs. Dr.`);
const ROLES = ["PRIMARY", "BILLING", "TECHNICAL", "ADMINISTRATIVE"];

/** Calling codes of the countries below. */
const CALLING_CODES: Record<string, string> = {
  US: "1",
  CA: "1",
  GB: "44",
  DE: "49",
  FR: "33",
  AU: "61",
  IN: "91",
  MX: "52",
  BR: "55",
  NL: "31",
  ES: "34",
  IT: "39",
  IE: "353",
  JP: "81",
  SG: "65",
  ZA: "27",
  SE: "46",
  CH: "41",
  PL: "48",
  NZ: "64",
};

/** city|state|ISO country, roughly by size (picks are skewed toward the start). */
const CITIES = lines(`
  New York|NY|US
  Los Angeles|CA|US
  Chicago|IL|US
  Houston|TX|US
  London|England|GB
  Phoenix|AZ|US
  Philadelphia|PA|US
  San Antonio|TX|US
  San Diego|CA|US
  Dallas|TX|US
  Toronto|ON|CA
  San Jose|CA|US
  Austin|TX|US
  Jacksonville|FL|US
  Fort Worth|TX|US
  Columbus|OH|US
  Charlotte|NC|US
  San Francisco|CA|US
  Indianapolis|IN|US
  Seattle|WA|US
  Denver|CO|US
  Washington|DC|US
  Boston|MA|US
  Berlin|Berlin|DE
  Paris|Ile-de-France|FR
  Sydney|NSW|AU
  Mumbai|Maharashtra|IN
  El Paso|TX|US
  Nashville|TN|US
  Detroit|MI|US
  Oklahoma City|OK|US
  Portland|OR|US
  Las Vegas|NV|US
  Memphis|TN|US
  Louisville|KY|US
  Baltimore|MD|US
  Milwaukee|WI|US
  Albuquerque|NM|US
  Tucson|AZ|US
  Fresno|CA|US
  Mesa|AZ|US
  Sacramento|CA|US
  Atlanta|GA|US
  Kansas City|MO|US
  Colorado Springs|CO|US
  Omaha|NE|US
  Raleigh|NC|US
  Miami|FL|US
  Long Beach|CA|US
  Virginia Beach|VA|US
  Oakland|CA|US
  Minneapolis|MN|US
  Tulsa|OK|US
  Tampa|FL|US
  Arlington|TX|US
  New Orleans|LA|US
  Wichita|KS|US
  Cleveland|OH|US
  Bakersfield|CA|US
  Aurora|CO|US
  Anaheim|CA|US
  Honolulu|HI|US
  Santa Ana|CA|US
  Riverside|CA|US
  Corpus Christi|TX|US
  Lexington|KY|US
  Henderson|NV|US
  Stockton|CA|US
  Saint Paul|MN|US
  Cincinnati|OH|US
  St. Louis|MO|US
  Pittsburgh|PA|US
  Greensboro|NC|US
  Lincoln|NE|US
  Anchorage|AK|US
  Plano|TX|US
  Orlando|FL|US
  Irvine|CA|US
  Newark|NJ|US
  Durham|NC|US
  Chula Vista|CA|US
  Toledo|OH|US
  Fort Wayne|IN|US
  St. Petersburg|FL|US
  Laredo|TX|US
  Jersey City|NJ|US
  Chandler|AZ|US
  Madison|WI|US
  Lubbock|TX|US
  Scottsdale|AZ|US
  Reno|NV|US
  Buffalo|NY|US
  Gilbert|AZ|US
  Glendale|AZ|US
  North Las Vegas|NV|US
  Winston-Salem|NC|US
  Chesapeake|VA|US
  Norfolk|VA|US
  Fremont|CA|US
  Garland|TX|US
  Irving|TX|US
  Hialeah|FL|US
  Richmond|VA|US
  Boise|ID|US
  Spokane|WA|US
  Baton Rouge|LA|US
  Tacoma|WA|US
  San Bernardino|CA|US
  Modesto|CA|US
  Fontana|CA|US
  Des Moines|IA|US
  Moreno Valley|CA|US
  Santa Clarita|CA|US
  Fayetteville|NC|US
  Birmingham|AL|US
  Oxnard|CA|US
  Rochester|NY|US
  Port St. Lucie|FL|US
  Grand Rapids|MI|US
  Huntsville|AL|US
  Salt Lake City|UT|US
  Frisco|TX|US
  Yonkers|NY|US
  Amarillo|TX|US
  Glendale|CA|US
  Huntington Beach|CA|US
  McKinney|TX|US
  Montgomery|AL|US
  Augusta|GA|US
  Little Rock|AR|US
  Akron|OH|US
  Columbus|GA|US
  Worcester|MA|US
  Providence|RI|US
  Knoxville|TN|US
  Chattanooga|TN|US
  Hartford|CT|US
  Burlington|VT|US
  Portland|ME|US
  Manchester|NH|US
  Charleston|SC|US
  Savannah|GA|US
  Springfield|IL|US
  Springfield|MA|US
  Springfield|MO|US
  Ann Arbor|MI|US
  Boulder|CO|US
  Santa Fe|NM|US
  Cheyenne|WY|US
  Billings|MT|US
  Fargo|ND|US
  Sioux Falls|SD|US
  Wilmington|DE|US
  Jackson|MS|US
  Montreal|QC|CA
  Vancouver|BC|CA
  Calgary|AB|CA
  Edmonton|AB|CA
  Ottawa|ON|CA
  Winnipeg|MB|CA
  Quebec City|QC|CA
  Hamilton|ON|CA
  Kitchener|ON|CA
  Halifax|NS|CA
  Victoria|BC|CA
  Saskatoon|SK|CA
  Regina|SK|CA
  Manchester|England|GB
  Birmingham|England|GB
  Leeds|England|GB
  Glasgow|Scotland|GB
  Liverpool|England|GB
  Edinburgh|Scotland|GB
  Bristol|England|GB
  Sheffield|England|GB
  Cardiff|Wales|GB
  Belfast|Northern Ireland|GB
  Nottingham|England|GB
  Newcastle upon Tyne|England|GB
  Leicester|England|GB
  Southampton|England|GB
  Cambridge|England|GB
  Oxford|England|GB
  Reading|England|GB
  Brighton|England|GB
  Aberdeen|Scotland|GB
  York|England|GB
  Hamburg|Hamburg|DE
  Munich|Bavaria|DE
  Cologne|North Rhine-Westphalia|DE
  Frankfurt|Hesse|DE
  Stuttgart|Baden-Wurttemberg|DE
  Dusseldorf|North Rhine-Westphalia|DE
  Leipzig|Saxony|DE
  Dortmund|North Rhine-Westphalia|DE
  Essen|North Rhine-Westphalia|DE
  Bremen|Bremen|DE
  Dresden|Saxony|DE
  Hanover|Lower Saxony|DE
  Nuremberg|Bavaria|DE
  Marseille|Provence-Alpes-Cote d'Azur|FR
  Lyon|Auvergne-Rhone-Alpes|FR
  Toulouse|Occitanie|FR
  Nice|Provence-Alpes-Cote d'Azur|FR
  Nantes|Pays de la Loire|FR
  Strasbourg|Grand Est|FR
  Montpellier|Occitanie|FR
  Bordeaux|Nouvelle-Aquitaine|FR
  Lille|Hauts-de-France|FR
  Rennes|Brittany|FR
  Melbourne|VIC|AU
  Brisbane|QLD|AU
  Perth|WA|AU
  Adelaide|SA|AU
  Gold Coast|QLD|AU
  Canberra|ACT|AU
  Newcastle|NSW|AU
  Hobart|TAS|AU
  Darwin|NT|AU
  Delhi|Delhi|IN
  Bangalore|Karnataka|IN
  Hyderabad|Telangana|IN
  Chennai|Tamil Nadu|IN
  Kolkata|West Bengal|IN
  Pune|Maharashtra|IN
  Ahmedabad|Gujarat|IN
  Jaipur|Rajasthan|IN
  Noida|Uttar Pradesh|IN
  Gurgaon|Haryana|IN
  Mexico City|CDMX|MX
  Guadalajara|Jalisco|MX
  Monterrey|Nuevo Leon|MX
  Puebla|Puebla|MX
  Tijuana|Baja California|MX
  Queretaro|Queretaro|MX
  Merida|Yucatan|MX
  Cancun|Quintana Roo|MX
  Sao Paulo|SP|BR
  Rio de Janeiro|RJ|BR
  Brasilia|DF|BR
  Salvador|BA|BR
  Fortaleza|CE|BR
  Belo Horizonte|MG|BR
  Curitiba|PR|BR
  Porto Alegre|RS|BR
  Recife|PE|BR
  Amsterdam|North Holland|NL
  Rotterdam|South Holland|NL
  The Hague|South Holland|NL
  Utrecht|Utrecht|NL
  Eindhoven|North Brabant|NL
  Groningen|Groningen|NL
  Madrid|Madrid|ES
  Barcelona|Catalonia|ES
  Valencia|Valencia|ES
  Seville|Andalusia|ES
  Zaragoza|Aragon|ES
  Malaga|Andalusia|ES
  Bilbao|Basque Country|ES
  Rome|Lazio|IT
  Milan|Lombardy|IT
  Naples|Campania|IT
  Turin|Piedmont|IT
  Florence|Tuscany|IT
  Bologna|Emilia-Romagna|IT
  Venice|Veneto|IT
  Dublin|Leinster|IE
  Cork|Munster|IE
  Galway|Connacht|IE
  Limerick|Munster|IE
  Tokyo|Tokyo|JP
  Osaka|Osaka|JP
  Yokohama|Kanagawa|JP
  Nagoya|Aichi|JP
  Sapporo|Hokkaido|JP
  Fukuoka|Fukuoka|JP
  Kyoto|Kyoto|JP
  Singapore|Singapore|SG
  Johannesburg|Gauteng|ZA
  Cape Town|Western Cape|ZA
  Durban|KwaZulu-Natal|ZA
  Pretoria|Gauteng|ZA
  Stockholm|Stockholm|SE
  Gothenburg|Vastra Gotaland|SE
  Malmo|Skane|SE
  Zurich|Zurich|CH
  Geneva|Geneva|CH
  Basel|Basel-Stadt|CH
  Bern|Bern|CH
  Warsaw|Masovia|PL
  Krakow|Lesser Poland|PL
  Wroclaw|Lower Silesia|PL
  Gdansk|Pomerania|PL
  Auckland|Auckland|NZ
  Wellington|Wellington|NZ
  Christchurch|Canterbury|NZ
`).map((l) => {
  const [city = "", state = "", country = ""] = l.split("|");
  return { city, state, country, callingCode: CALLING_CODES[country] ?? "1" };
});

/**
 * A uniform number in [0, 1) for row `n` and attribute `seed`: a hash, so rows are reproducible and
 * the expression is immutable (the planner may evaluate it wherever it likes).
 */
const u = (seed: number, n = "g.n"): string =>
  `((hashint8extended(${n}, ${seed}) & 2147483647)::float8 / 2147483648.0)`;

/** An index in 1..cardinality(list), skewed toward the start of the list (power > 1). */
const skewed = (list: string, seed: number, power: number, n = "g.n"): string =>
  `(1 + floor(cardinality(${list}) * power(${u(seed, n)}, ${power}))::int)`;

/** A uniform index in 1..cardinality(list). */
const uniform = (list: string, seed: number, n = "g.n"): string =>
  `(1 + floor(cardinality(${list}) * ${u(seed, n)})::int)`;

/** Random digits of a given length for row `n`. */
const digits = (seed: number, length: number): string =>
  `lpad(((hashint8extended(g.n, ${seed}) & 9223372036854775807) % ${10 ** length}::bigint)::text, ${length}, '0')`;

/** A past instant within three years, truncated to milliseconds (what JavaScript dates hold). */
const CREATED = `date_trunc('milliseconds', now() - ${u(60)} * interval '3 years')`;

const phone = (seed: number, label: string, primary: boolean): string => {
  const area = `(200 + floor(${u(seed)} * 790)::int)::text`;
  const local = digits(seed + 1, 7);
  return `jsonb_build_object(
    'number', '+' || r.cc || ' ' || ${area} || ' ' || substr(${local}, 1, 3) || ' ' || substr(${local}, 4),
    'e164', '+' || r.cc || ${area} || ${local},
    'valid', true,
    'country', r.country1,
    'extension', case when ${u(seed + 2)} < 0.1 then (100 + floor(${u(seed + 3)} * 900)::int)::text end,
    'label', '${label}',
    'primary', ${String(primary)},
    'smsVerified', ${label === "mobile" ? `${u(seed + 4)} < 0.5` : "false"})`;
};

const address = (seed: number, city: string, label: string, primary: boolean): string =>
  `jsonb_build_object(
    'line1', (1 + floor(${u(seed)} * 9899)::int)::text || ' ' || ($streets::text[])[${uniform("$streets::text[]", seed + 1)}],
    'line2', case when ${u(seed + 2)} < 0.15 then 'Suite ' || (100 + floor(${u(seed + 3)} * 900)::int)::text end,
    'city', ($cities::text[])[${city}],
    'state', ($states::text[])[${city}],
    'postalCode', ${digits(seed + 4, 5)},
    'country', ($countries::text[])[${city}],
    'label', '${label}',
    'primary', ${String(primary)},
    'seasonalStart', null,
    'seasonalEnd', null)`;

/**
 * One chunk of contacts: rows `first..first+count-1` of the seed, numbered `base + row`. `r` holds
 * the picks (list indexes and flags) so each value is computed once and reused (an email matches
 * the name). Named parameters ($name) are replaced by positional ones before sending.
 */
const CONTACTS_SQL = `
insert into contacts (tenant_id, id, number, subtype, prefix, first_name, middle_name, last_name, nickname,
  job_title, company_name, username, account_id, roles, emails, phones, addresses, preferred_phone_label,
  preferred_address_label, status, social, notification_preferences, custom_fields,
  created_at, created_by, updated_at, updated_by)
select $tenant, gen_random_uuid(), $base::bigint + g.n,
  case when r.company then 'company' else 'person' end,
  case when not r.company and ${u(30)} < 0.2 then ($prefixes::text[])[${uniform("$prefixes::text[]", 31)}] end,
  r.fname, r.mname, r.lname, r.nickname,
  case when ${u(32)} < 0.7 then ($titles::text[])[${skewed("$titles::text[]", 33, 1.3)}] end,
  r.company_name,
  case when ${u(34)} < 0.7 then lower(coalesce(r.fname || '.' || r.lname, 'company')) || g.n::text end,
  case when ${u(35)} < 0.9 then ($accounts::uuid[])[${skewed("$accounts::uuid[]", 36, 2)}] end,
  case
    when ${u(37)} < 0.4 then '{}'::text[]
    when ${u(37)} < 0.8 then array[($roles::text[])[r.role1]]
    else array[($roles::text[])[r.role1], ($roles::text[])[1 + (r.role1 + floor(${u(38)} * 3)::int) % 4]]
  end,
  case when ${u(39)} < 0.4
    then jsonb_build_array(r.email1, jsonb_build_object('address', r.email2, 'label', 'home', 'primary', false))
    else jsonb_build_array(r.email1)
  end,
  case when ${u(40)} < 0.5
    then jsonb_build_array(${phone(41, "work", true)}, ${phone(46, "mobile", false)})
    else jsonb_build_array(${phone(41, "work", true)})
  end,
  case when ${u(51)} < 0.25
    then jsonb_build_array(${address(52, "r.city1", "work", true)}, ${address(58, "r.city2", "home", false)})
    else jsonb_build_array(${address(52, "r.city1", "work", true)})
  end,
  null, null,
  case when ${u(64)} < 0.9 then 'active' when ${u(64)} < 0.96 then 'inactive'
    when ${u(64)} < 0.99 then 'duplicate' else 'deceased' end,
  '{"website": null, "linkedin": null, "twitter": null, "facebook": null, "instagram": null}',
  '{"doNotCall": false, "doNotEmail": false, "doNotFax": false, "doNotMail": false, "doNotSurvey": false}',
  '{}',
  r.created_at, 'seed',
  date_trunc('milliseconds', r.created_at + ${u(61)} * (now() - r.created_at)), 'seed'
from generate_series($first::bigint, $last::bigint) g(n)
cross join lateral (
  select p.*,
    jsonb_build_object('address', case
        when p.company then 'info.' || ($base::bigint + g.n)::text
        else lower(p.fname || '.' || p.lname || '.' || ($base::bigint + g.n)::text)
      end || '@' || ($domains::text[])[${skewed("$domains::text[]", 12, 1.5)}], 'label', 'work', 'primary', true)
      as email1,
    lower(coalesce(left(p.fname, 1) || p.lname, 'office')) || '.' || ($base::bigint + g.n)::text || '@'
      || ($domains::text[])[${uniform("$domains::text[]", 13)}] as email2,
    ($countries::text[])[p.city1] as country1,
    ($codes::text[])[p.city1] as cc
  from (
    select
      ${u(1)} < 0.05 as company,
      case when ${u(1)} >= 0.05 then ($firsts::text[])[${skewed("$firsts::text[]", 2, 1.3)}] end as fname,
      case when ${u(1)} >= 0.05 and ${u(3)} < 0.3 then ($firsts::text[])[${uniform("$firsts::text[]", 4)}] end as mname,
      case when ${u(1)} >= 0.05 then ($lasts::text[])[${skewed("$lasts::text[]", 5, 1.3)}] end as lname,
      case when ${u(1)} >= 0.05 and ${u(6)} < 0.1 then ($nicknames::text[])[${uniform("$nicknames::text[]", 7)}] end as nickname,
      case when ${u(1)} < 0.05 then ($brands::text[])[${uniform("$brands::text[]", 8)}] || ' '
        || ($sectors::text[])[${uniform("$sectors::text[]", 9)}] || ' '
        || ($suffixes::text[])[${uniform("$suffixes::text[]", 10)}] end as company_name,
      ${skewed("$cities::text[]", 14, 1.6)} as city1,
      ${uniform("$cities::text[]", 15)} as city2,
      1 + floor(${u(16)} * 4)::int as role1,
      ${CREATED} as created_at
  ) p
) r`;

/** Accounts of one depth: rows `first..last`, parents picked among `$parents` (null for roots). */
const ACCOUNTS_SQL = `
insert into accounts (tenant_id, id, type, key, name, parent_id, created_at, created_by, updated_at, updated_by)
select $tenant, gen_random_uuid(), t.type,
  case when t.type = 'CLOUD' then ($keyBase::bigint + g.n)::text else 'DED-' || ($keyBase::bigint + g.n)::text end,
  ($brands::text[])[${skewed("$brands::text[]", 101, 1.2)}] || ' ' || ($sectors::text[])[${uniform("$sectors::text[]", 102)}]
    || ' ' || ($suffixes::text[])[${uniform("$suffixes::text[]", 103)}],
  case when cardinality($parents::uuid[]) > 0 then ($parents::uuid[])[${uniform("$parents::uuid[]", 104)}] end,
  t.created_at, 'seed', t.created_at, 'seed'
from generate_series($first::bigint, $last::bigint) g(n)
cross join lateral (
  select case when ${u(105)} < 0.7 then 'CLOUD' else 'DEDICATED' end as type,
    date_trunc('milliseconds', now() - ${u(106)} * interval '5 years') as created_at
) t
returning id`;

/** Replaces `$name` parameters with `$1..$n` and returns the values in that order. */
function bind(sql: string, values: Record<string, unknown>): { text: string; values: unknown[] } {
  const order: string[] = [];
  const text = sql.replace(/\$([a-zA-Z]+)/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`no value for $${name}`);
    let i = order.indexOf(name);
    if (i < 0) i = order.push(name) - 1;
    return `$${String(i + 1)}`;
  });
  return { text, values: order.map((name) => values[name]) };
}

/**
 * Seeds `tenantId` (which must exist) with accounts and contacts, as the owner (a superuser:
 * row-level security does not bind it). Contacts are numbered after the tenant's current
 * `contact_seq`, which is set to the highest number at the end (the tenant's number sequence follows
 * it, migration 22; so seed before the API writes to the tenant); the count is kept by the insert
 * trigger (`tenant_contact_counts`). Ends with VACUUM ANALYZE so plans and visibility are those of a settled table
 * (and autovacuum does not wake up in the middle of a benchmark).
 */
/** The realistic value lists the seed draws from, for other generators (the import benchmark's CSV). */
export const SEED_VALUES = {
  firstNames: FIRST_NAMES,
  lastNames: LAST_NAMES,
  nicknames: NICKNAMES,
  jobTitles: JOB_TITLES,
  emailDomains: EMAIL_DOMAINS,
  streets: STREETS,
  cities: CITIES,
  brands: BRANDS,
  sectors: SECTORS,
  companySuffixes: COMPANY_SUFFIXES,
} as const;

export async function seedTenant(pool: pg.Pool, options: SeedOptions): Promise<void> {
  const { tenantId, contacts } = options;
  const accountCount = options.accounts ?? Math.max(10, Math.min(20_000, Math.round(contacts / 50)));
  const client = await pool.connect();
  try {
    // Bulk loading: no need to wait for the WAL flush per statement; more memory for GIN pending lists.
    await client.query("set synchronous_commit = off");
    await client.query("set work_mem = '256MB'");
    await client.query("set maintenance_work_mem = '1GB'");

    const tenant = await client.query<{ contact_seq: string }>(
      "select contact_seq from tenants where id = $1",
      [tenantId],
    );
    if (!tenant.rows[0]) throw new Error(`tenant ${tenantId} does not exist`);
    const base = Number(tenant.rows[0].contact_seq);
    const existingAccounts = await client.query<{ n: string }>(
      "select count(*) as n from accounts where tenant_id = $1",
      [tenantId],
    );
    const keyBase = 1_000_000 + Number(existingAccounts.rows[0]?.n ?? 0);

    // Accounts: 20% roots, 40% children, 30% grandchildren, 10% at depth 4.
    const levels = [0.2, 0.4, 0.3, 0.1].map((share) => Math.max(1, Math.round(accountCount * share)));
    const accountIds: string[] = [];
    let parents: string[] = [];
    let first = 1;
    for (const size of levels) {
      const query = bind(ACCOUNTS_SQL, {
        tenant: tenantId,
        keyBase,
        first,
        last: first + size - 1,
        parents,
        brands: BRANDS,
        sectors: SECTORS,
        suffixes: COMPANY_SUFFIXES,
      });
      const rows = (await client.query<{ id: string }>(query.text, query.values)).rows.map((r) => r.id);
      accountIds.push(...rows);
      parents = rows;
      first += size;
    }

    const lists = {
      tenant: tenantId,
      base,
      firsts: FIRST_NAMES,
      lasts: LAST_NAMES,
      nicknames: NICKNAMES,
      titles: JOB_TITLES,
      domains: EMAIL_DOMAINS,
      streets: STREETS,
      cities: CITIES.map((c) => c.city),
      states: CITIES.map((c) => c.state),
      countries: CITIES.map((c) => c.country),
      codes: CITIES.map((c) => c.callingCode),
      brands: BRANDS,
      sectors: SECTORS,
      suffixes: COMPANY_SUFFIXES,
      prefixes: PREFIXES,
      roles: ROLES,
      accounts: accountIds,
    };
    for (let done = 0; done < contacts;) {
      const size = Math.min(CHUNK, contacts - done);
      const query = bind(CONTACTS_SQL, { ...lists, first: done + 1, last: done + size });
      await client.query(query.text, query.values);
      done += size;
      options.onProgress?.(done);
    }
    await client.query("update tenants set contact_seq = greatest(contact_seq, $2::bigint) where id = $1", [
      tenantId,
      base + contacts,
    ]);
    await client.query("vacuum (analyze) accounts, contacts, search_postings");
    // The first pass leaves some pages not marked all-visible (seen: 16 % at 1M), and index-only
    // scans then read those rows; a second pass marks them, as autovacuum would in time.
    await client.query("vacuum contacts, search_postings");
    // Write the seed's dirty pages now, not in a checkpoint during the first measurements.
    await client.query("checkpoint");
  } finally {
    await client.query("reset all").catch(() => undefined);
    client.release();
  }
}

/** CLI: seeds SEED_TENANT (created when missing) with SEED_CONTACTS contacts at DATABASE_URL. */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("set DATABASE_URL to the owner's URL");
  const tenantId = process.env.SEED_TENANT ?? "seed";
  const contacts = Number(process.env.SEED_CONTACTS ?? 1_000_000);
  if (!Number.isSafeInteger(contacts) || contacts < 1)
    throw new Error("SEED_CONTACTS must be a positive integer");

  const { SingleBar, Presets } = (await import("cli-progress")).default;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const exists = await pool.query("select 1 from tenants where id = $1", [tenantId]);
    if (exists.rowCount === 0) {
      const [{ createOrm }, { createTenantWithKey }, { ALL_PERMISSIONS }] = await Promise.all([
        import("@contacts/db/orm"),
        import("@contacts/api/tenants/tenant.service"),
        import("@contacts/domain/permissions"),
      ]);
      const orm = await createOrm({ url, poolMax: 1 });
      try {
        const { apiKey } = await createTenantWithKey(orm.em.fork(), {
          tenant: { id: tenantId, name: tenantId },
          keyName: "seed",
          permissions: ALL_PERMISSIONS,
          createdBy: "seed",
        });
        console.log(`created tenant ${tenantId}; API key (shown once): ${apiKey.key}`);
      } finally {
        await orm.close();
      }
    }
    const bar = new SingleBar(
      { format: "seeding {bar} {percentage}% | {value}/{total} contacts | {duration}s" },
      Presets.shades_classic,
    );
    const started = performance.now();
    bar.start(contacts, 0);
    await seedTenant(pool, { tenantId, contacts, onProgress: (done) => bar.update(done) });
    bar.stop();
    console.log(
      `seeded ${contacts} contacts into ${tenantId} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await pool.end();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
