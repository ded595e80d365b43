"""The words rows are made of: regions and territories, rep and account names, industries,
contact titles and seniority, products."""

from __future__ import annotations

REGIONS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    (
        "EMEA",
        1,
        ("DACH", "Nordics", "Benelux", "UK & Ireland", "France", "Iberia", "Italy", "Poland"),
    ),
    (
        "North America",
        -5,
        ("Northeast", "Southeast", "Midwest", "Texas", "West Coast", "Canada", "Mountain"),
    ),
    ("APAC", 8, ("ANZ", "Japan", "Singapore", "India", "Korea", "Greater China")),
    ("LATAM", -3, ("Brazil", "Mexico", "Andes", "Southern Cone", "Central America")),
)
FIRST_NAMES = (
    "Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hiro", "Inès", "Jonas", "Kofi",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoë", "Aisha", "Bruno", "Carmen", "Diego", "Emma", "Felix",
    "Gabriel", "Hanna", "Ivan", "Julia", "Kenji", "Laura", "Marco", "Nina", "Oscar", "Paula",
    "Rafael", "Sofia", "Tomás", "Ursula", "Viktor", "Wanda", "Yara", "Zeynep", "André", "Beatriz",
    "Connor", "Dalia", "Erik", "Fatima", "Gustav", "Helga", "Ibrahim", "Jana", "Karim", "Leila",
    "Mikael", "Noor", "Olga", "Pedro", "Rania", "Stefan", "Thuy", "Valeria", "José", "Søren",
)  # fmt: skip
LAST_NAMES = (
    "Silva", "Müller", "Okafor", "Nguyen", "Kowalski", "Haddad", "Johansson", "Tanaka", "Rossi",
    "García", "O'Brien", "Dubois", "Novak", "Kim", "Patel", "Schmidt", "Andersen", "Moreau",
    "Costa", "Yilmaz", "Mensah", "Fischer", "Larsen", "Romero", "Chen", "Singh", "Ali",
    "Hoffmann", "Jensen", "Petrov", "Santos", "Murphy", "Walsh", "Kaur", "Berg", "Lindqvist",
    "Ferreira", "Abdi", "Cohen", "Levi", "Weber", "Wagner", "Bauer", "Sato", "Suzuki", "Park",
    "Lee", "Wong", "Reyes", "Cruz", "Flores", "Morales", "Ortiz", "Mendes", "Lopes", "Brown",
    "Taylor", "Wilson", "Clarke", "Evans", "Hughes", "Price", "Kelly", "Byrne", "Nowak", "Eze",
)  # fmt: skip
ACCOUNT_WORDS = (
    "Northwind", "Bluestone", "Redwood", "Silverline", "Ironbridge", "Brightwater", "Greenfield",
    "Summit", "Harbor", "Pinecrest", "Oakridge", "Starling", "Cobalt", "Granite", "Maple",
    "Falcon", "Meridian", "Atlas", "Horizon", "Evergreen", "Riverside", "Crescent", "Orchid",
    "Vertex", "Polaris", "Beacon", "Copper", "Sterling", "Aurora", "Keystone", "Lumen", "Tidal",
)  # fmt: skip
ACCOUNT_NOUNS = (
    "Logistics", "Foods", "Health", "Capital", "Systems", "Energy", "Retail", "Labs",
    "Manufacturing", "Media", "Analytics", "Bank", "Pharma", "Motors", "Textiles", "Telecom",
    "Insurance", "Robotics", "Software", "Hotels", "Freight", "Clinics", "Foundry", "Studios",
)  # fmt: skip
ACCOUNT_SUFFIXES = (
    "Inc", ", Inc.", "Ltd", "GmbH", "LLC", "SA", "AG", "Group", "BV", "& Co", "Oy", "AB",
    "Pty Ltd", "S.A. de C.V.", "KK", "plc",
)  # fmt: skip
INDUSTRIES = (
    "Software", "Manufacturing", "Healthcare", "Financial services", "Retail", "Logistics",
    "Education", "Public sector", "Energy", "Media",
)  # fmt: skip
TITLES = {
    0: ("CEO", "CFO", "CIO", "COO", "VP Operations", "VP Finance", "Head of Procurement", "CTO"),
    1: ("IT Manager", "Procurement Manager", "Operations Manager", "Finance Manager",
        "Head of Sales Ops", "Project Manager"),
    2: ("Analyst", "Buyer", "Engineer", "Coordinator", "Specialist", "Administrator"),
}  # fmt: skip
SENIORITY = ("executive", "manager", "staff")
PRODUCTS = ("Core", "Core + Analytics", "Enterprise Suite", "Add-on: Integrations", "Services")
