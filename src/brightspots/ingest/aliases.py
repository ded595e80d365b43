"""Names exports give the contract's tables and columns, in English and Spanish.

Used to propose a mapping for an unknown export (``brightspots map``) and by presets whose column
labels follow the exporting user's language. To support another language or CRM, add its names
here: keys are matched trimmed, with inner spaces collapsed, case- and accent-insensitively.
"""

from __future__ import annotations

import unicodedata

#: table -> words in a file name that point at it
TABLE_WORDS: dict[str, tuple[str, ...]] = {
    "teams": ("team", "teams", "userrole", "role", "equipo", "equipos"),
    "reps": (
        "rep",
        "reps",
        "user",
        "users",
        "owner",
        "owners",
        "usuario",
        "usuarios",
        "propietario",
        "propietarios",
        "seller",
        "sellers",
        "vendedor",
        "vendedores",
    ),
    "accounts": (
        "account",
        "accounts",
        "company",
        "companies",
        "empresa",
        "empresas",
        "cuenta",
        "cuentas",
        "organization",
        "organizations",
    ),
    "contacts": ("contact", "contacts", "contacto", "contactos", "people", "person"),
    "opportunities": (
        "opportunity",
        "opportunities",
        "deal",
        "deals",
        "negocio",
        "negocios",
        "oportunidad",
        "oportunidades",
        "pipeline",
    ),
    "activities": (
        "activity",
        "activities",
        "task",
        "tasks",
        "event",
        "events",
        "call",
        "calls",
        "meeting",
        "meetings",
        "email",
        "emails",
        "actividad",
        "actividades",
        "llamada",
        "llamadas",
        "reunion",
        "reuniones",
        "correo",
        "correos",
        "engagement",
        "engagements",
    ),
    "buyer_events": ("buyer_event", "buyer_events", "reply", "replies", "response", "responses"),
    "survey_responses": ("survey", "surveys", "nps", "encuesta", "encuestas"),
    "stories": ("story", "stories", "historia", "historias", "testimonial", "testimonials"),
}

#: (table, column) -> header names that hold it
COLUMN_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("teams", "team_id"): ("id", "team id", "role id", "record id", "id de registro"),
    ("teams", "name"): ("name", "team", "team name", "role", "nombre", "equipo"),
    ("teams", "parent_team_id"): ("parent id", "parent role id", "parentroleid", "parent team"),
    ("reps", "rep_id"): (
        "id",
        "user id",
        "owner id",
        "record id",
        "id de registro",
        "id de usuario",
        "id del propietario",
    ),
    ("reps", "name"): ("name", "full name", "user", "owner", "nombre", "nombre completo"),
    ("reps", "email"): ("email", "e-mail", "email address", "correo", "correo electronico"),
    ("reps", "team_id"): ("team", "team id", "role", "userroleid", "role id", "equipo"),
    ("reps", "manager_rep_id"): ("manager", "manager id", "managerid", "gerente"),
    ("reps", "hire_date"): ("hire date", "start date", "fecha de contratacion"),
    ("reps", "region"): ("region", "territory", "region de ventas", "territorio"),
    ("accounts", "account_id"): (
        "id",
        "account id",
        "company id",
        "record id",
        "id de registro",
        "id de la empresa",
        "id de cuenta",
    ),
    ("accounts", "name"): (
        "name",
        "account name",
        "company",
        "company name",
        "nombre",
        "nombre de la empresa",
        "nombre de la cuenta",
    ),
    ("accounts", "owner_rep_id"): (
        "owner",
        "owner id",
        "ownerid",
        "account owner",
        "company owner",
        "propietario",
        "propietario de la empresa",
    ),
    ("accounts", "industry"): ("industry", "sector", "industria"),
    ("accounts", "segment"): ("segment", "type", "tier", "segmento", "tipo"),
    ("accounts", "region"): (
        "region",
        "country",
        "country/region",
        "billing country",
        "billingcountry",
        "pais",
        "pais/region",
    ),
    ("accounts", "employees"): (
        "employees",
        "number of employees",
        "numberofemployees",
        "numero de empleados",
    ),
    ("accounts", "annual_potential"): (
        "annual potential",
        "potential",
        "annual revenue",
        "annualrevenue",
        "ingresos anuales",
    ),
    ("accounts", "created_at"): (
        "created",
        "create date",
        "created date",
        "createddate",
        "fecha de creacion",
    ),
    ("contacts", "contact_id"): ("id", "contact id", "record id", "id de registro"),
    ("contacts", "account_id"): (
        "account",
        "account id",
        "accountid",
        "company id",
        "associated company id",
        "associated company ids (primary)",
        "id de empresa asociada",
    ),
    ("contacts", "title"): ("title", "job title", "cargo", "puesto"),
    ("opportunities", "opportunity_id"): (
        "id",
        "opportunity id",
        "deal id",
        "record id",
        "id de registro",
        "id del negocio",
    ),
    ("opportunities", "account_id"): (
        "account",
        "account id",
        "accountid",
        "company",
        "company id",
        "associated company id",
        "associated company ids (primary)",
        "id de empresa asociada",
    ),
    ("opportunities", "owner_rep_id"): (
        "owner",
        "owner id",
        "ownerid",
        "deal owner",
        "opportunity owner",
        "propietario del negocio",
        "propietario",
    ),
    ("opportunities", "created_at"): (
        "created",
        "create date",
        "created date",
        "createddate",
        "fecha de creacion",
    ),
    ("opportunities", "closed_at"): (
        "closed",
        "close date",
        "closedate",
        "closed date",
        "fecha de cierre",
    ),
    ("opportunities", "stage"): (
        "stage",
        "deal stage",
        "stagename",
        "status",
        "etapa del negocio",
        "etapa",
    ),
    ("opportunities", "amount"): ("amount", "value", "deal amount", "importe", "valor", "cantidad"),
    ("opportunities", "source"): (
        "source",
        "lead source",
        "leadsource",
        "origen",
        "fuente original",
    ),
    ("opportunities", "product"): ("product", "product line", "producto"),
    ("activities", "activity_id"): ("id", "activity id", "record id", "id de registro"),
    ("activities", "rep_id"): (
        "owner",
        "owner id",
        "ownerid",
        "activity assigned to",
        "assigned to",
        "hubspot owner",
        "propietario",
        "asignada a",
    ),
    ("activities", "account_id"): (
        "account",
        "account id",
        "accountid",
        "company id",
        "associated company id",
        "associated company ids (primary)",
    ),
    ("activities", "opportunity_id"): (
        "opportunity",
        "opportunity id",
        "deal id",
        "associated deal id",
        "associated deal ids",
    ),
    ("activities", "contact_id"): (
        "contact",
        "contact id",
        "whoid",
        "associated contact id",
        "associated contact ids",
    ),
    ("activities", "type"): ("type", "activity type", "tasksubtype", "tipo de actividad", "tipo"),
    ("activities", "occurred_at"): (
        "date",
        "activity date",
        "created",
        "activitydate",
        "start time",
        "fecha de actividad",
        "fecha",
    ),
    ("activities", "duration_minutes"): (
        "duration",
        "duration (minutes)",
        "durationinminutes",
        "duracion",
    ),
    ("survey_responses", "response_id"): (
        "id",
        "response id",
        "answer id",
        "record id",
        "id de registro",
        "id de respuesta",
    ),
    ("survey_responses", "survey"): (
        "survey id",
        "survey_id",
        "survey name",
        "encuesta",
        "id de encuesta",
    ),
    ("survey_responses", "respondent_id"): (
        "respondent",
        "respondent id",
        "encuestado",
        "id del encuestado",
    ),
    ("survey_responses", "respondent_type"): (
        "kind",
        "respondent type",
        "respondent kind",
        "tipo de encuestado",
        "tipo",
    ),
    ("survey_responses", "subject_rep_id"): (
        "subject",
        "about",
        "subject rep",
        "subject id",
        "rep id",
        "evaluado",
        "id del evaluado",
    ),
    ("survey_responses", "account_id"): (
        "account",
        "account id",
        "company id",
        "cuenta",
        "id de cuenta",
        "id de la empresa",
    ),
    ("survey_responses", "question_id"): (
        "item",
        "item_id",
        "item id",
        "question",
        "question id",
        "pregunta",
        "id de pregunta",
    ),
    ("survey_responses", "dimension"): ("dimension", "category", "categoria"),
    ("survey_responses", "score"): (
        "score",
        "answer",
        "rating",
        "value",
        "puntuacion",
        "respuesta",
        "valor",
    ),
    ("survey_responses", "scale_min"): (
        "scale min",
        "min",
        "minimum",
        "escala minima",
        "minimo",
    ),
    ("survey_responses", "scale_max"): (
        "scale max",
        "max",
        "maximum",
        "escala maxima",
        "maximo",
    ),
    ("survey_responses", "submitted_at"): (
        "answered_at",
        "answered at",
        "submitted",
        "submitted date",
        "response date",
        "date",
        "fecha de respuesta",
        "fecha",
    ),
    ("stories", "story_id"): ("id", "story id", "record id", "id de registro", "id de historia"),
    ("stories", "rep_id"): (
        "rep",
        "owner",
        "owner id",
        "author",
        "author id",
        "propietario",
        "autor",
    ),
    ("stories", "account_id"): (
        "account",
        "account id",
        "company id",
        "cuenta",
        "id de cuenta",
        "id de la empresa",
    ),
    ("stories", "opportunity_id"): (
        "opportunity",
        "opportunity id",
        "deal",
        "deal id",
        "negocio",
        "id del negocio",
    ),
    ("stories", "title"): ("title", "headline", "titulo"),
    ("stories", "body"): (
        "text",
        "body",
        "story",
        "description",
        "texto",
        "historia",
        "descripcion",
    ),
    ("stories", "tags"): ("tags", "labels", "etiquetas"),
    ("stories", "created_at"): (
        "submitted_at",
        "submitted at",
        "created",
        "created date",
        "date",
        "fecha de creacion",
        "fecha",
    ),
    ("stories", "status"): ("status", "approval", "approval status", "estado"),
}

#: words in a stage label that say won or lost (anything else is open)
STAGE_WORDS: dict[str, tuple[str, ...]] = {
    "won": ("won", "ganado", "ganada", "closedwon", "gagne", "gewonnen"),
    "lost": ("lost", "perdido", "perdida", "closedlost", "perdu", "verloren"),
}

#: words in an activity label -> activity type
ACTIVITY_WORDS: dict[str, tuple[str, ...]] = {
    "call": ("call", "llamada", "phone"),
    "email": ("email", "e-mail", "mail", "correo"),
    "meeting": ("meeting", "reunion", "event"),
    "demo": ("demo", "demostracion"),
    "proposal": ("proposal", "quote", "propuesta", "cotizacion"),
}


def fold(text: str) -> str:
    """The form names are compared in: no accents, lower case, single spaces."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


#: a contact's seniority from the words of their title (CRM exports have no such field)
_SENIORITY = (
    "CASE WHEN {t} IS NULL THEN NULL "
    "WHEN regexp_matches(lower({t}), '\\b(ceo|cfo|coo|cto|cio|cmo|cro|chief|president|founder|"
    "owner|vp|vice president|evp|svp|director|head of|partner|managing)\\b') THEN 'executive' "
    "WHEN regexp_matches(lower({t}), '\\b(manager|lead|supervisor|head)\\b') THEN 'manager' "
    "ELSE 'staff' END"
)


def seniority_sql(title: str) -> str:
    """SQL for the seniority (executive, manager, staff) of the title expression ``title``."""
    return _SENIORITY.format(t=title)
