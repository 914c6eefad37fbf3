"""Fake Lithuanian patient identities for synthetic data.

Why: burned-in text and headers must look like what a Lithuanian hospital really writes (diacritics, gendered and
married surname forms, a personal code that passes the check-digit test, dates in many local styles), otherwise a
detector or text de-identifier trained/tested on it learns the wrong thing. Everything is derived from a
``random.Random`` so a seed reproduces the same person. No value belongs to a real person on purpose.

Public API: ``make_identity(rng) -> Identity``, ``valid_personal_code(code) -> bool``,
``personal_code(rng, birth_date, sex) -> str``, ``format_date(d, style) -> str``, ``DATE_STYLES``.
"""
from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------------------------- name data
MALE_GIVEN = [
    "Jonas", "Petras", "Antanas", "Mindaugas", "Tomas", "Darius", "Andrius", "Vytautas", "Rimantas", "Gediminas",
    "Žydrūnas", "Šarūnas", "Arūnas", "Kęstutis", "Linas", "Paulius", "Mantas", "Lukas", "Matas", "Dovydas", "Ignas",
    "Rokas", "Saulius", "Algirdas", "Audrius", "Česlovas", "Juozas", "Kazys", "Stasys", "Vaidas", "Giedrius",
    "Eimantas", "Žilvinas", "Justinas", "Ąžuolas", "Jurgis", "Domantas", "Nojus", "Kajus", "Benediktas", "Valdemaras",
    "Ričardas", "Egidijus", "Artūras", "Šarūnas", "Vytenis", "Dainius", "Gintaras", "Kęstas", "Rūtenis",
]
FEMALE_GIVEN = [
    "Ona", "Janina", "Aldona", "Birutė", "Rūta", "Jūratė", "Eglė", "Gintarė", "Agnė", "Ieva", "Austėja", "Gabija",
    "Emilija", "Kotryna", "Ugnė", "Živilė", "Dalia", "Laima", "Asta", "Vilija", "Rasa", "Danutė", "Genovaitė",
    "Stasė", "Aušra", "Daiva", "Indrė", "Giedrė", "Skaistė", "Neringa", "Jolanta", "Regina", "Irena", "Dovilė",
    "Saulė", "Goda", "Miglė", "Urtė", "Viltė", "Žemyna", "Ramunė", "Vaiva", "Gražina", "Eugenija", "Kristina",
]
# Surnames in the male form; female forms are derived by ``female_surname``.
SURNAMES = [
    "Kazlauskas", "Jankauskas", "Petrauskas", "Stankevičius", "Vasiliauskas", "Žukauskas", "Butkus", "Paulauskas",
    "Urbonas", "Kavaliauskas", "Baranauskas", "Pocius", "Navickas", "Sakalauskas", "Rimkus", "Lukoševičius",
    "Šimkus", "Žilinskas", "Kairys", "Mikalauskas", "Ramanauskas", "Vaitkus", "Adomaitis", "Balčiūnas", "Grigas",
    "Jonaitis", "Kučinskas", "Mockus", "Šukys", "Čepulis", "Dambrauskas", "Gudaitis", "Jurgaitis", "Vaičiulis",
    "Mickevičius", "Bačiulis", "Ąžuolaitis", "Šliogeris", "Gražulis", "Kęsgaila", "Žemaitis", "Černiauskas",
    "Bieliauskas", "Marcinkevičius", "Ūsas", "Liutkus", "Dėdinas", "Ivanauskas", "Šeškus", "Varnas",
]
# Non-Lithuanian residents (Polish, Russian, Ukrainian, other EU): (given, family, sex).
FOREIGN_NAMES = [
    ("Jan", "Kowalski", "M"), ("Anna", "Nowak", "F"), ("Tadeusz", "Wiśniewski", "M"), ("Małgorzata", "Zielińska", "F"),
    ("Ivan", "Petrov", "M"), ("Olga", "Ivanova", "F"), ("Sergej", "Smirnov", "M"), ("Tatjana", "Volkova", "F"),
    ("Olena", "Kovalenko", "F"), ("Andrij", "Shevchenko", "M"), ("John", "Smith", "M"), ("Maria", "Schmidt", "F"),
    ("Hans", "Müller", "M"), ("Sophie", "Dubois", "F"), ("Ahmed", "Hassan", "M"), ("Lena", "Berg", "F"),
]
HOSPITALS = [
    "Santaros klinikos", "VUL Santaros klinikos", "LSMUL Kauno klinikos", "Respublikinė Vilniaus universitetinė ligoninė",
    "Klaipėdos universitetinė ligoninė", "Respublikinė Šiaulių ligoninė", "Respublikinė Panevėžio ligoninė",
    "Vilniaus miesto klinikinė ligoninė", "Kauno klinikinė ligoninė", "Alytaus apskrities S. Kudirkos ligoninė",
    "Utenos ligoninė", "Marijampolės ligoninė", "Tauragės ligoninė", "Mažeikių ligoninė", "Šeimos medicinos centras",
    "Antakalnio poliklinika", "Žirmūnų poliklinika", "Kardiolitos klinikos", "Northway medicinos centras",
    "Affidea Lietuva", "InMedica", "Baltijos diagnostikos centras",
]
DEPARTMENTS = [
    "Radiologijos skyrius", "Echoskopijos kabinetas", "Kardiologijos skyrius", "Gastroenterologijos skyrius",
    "Akušerijos ir ginekologijos sk.", "Vaikų ligų skyrius", "Skubios pagalbos skyrius", "Endoskopijos kabinetas",
    "Mamografijos kabinetas", "Intervencinės radiologijos sk.", "Neurologijos skyrius", "Chirurgijos skyrius",
    "Urologijos skyrius", "Krūtinės chirurgijos sk.", "Traumatologijos skyrius",
]
CITIES = [
    ("Vilnius", "LT-0"), ("Kaunas", "LT-4"), ("Klaipėda", "LT-9"), ("Šiauliai", "LT-7"), ("Panevėžys", "LT-3"),
    ("Alytus", "LT-6"), ("Marijampolė", "LT-6"), ("Mažeikiai", "LT-8"), ("Jonava", "LT-5"), ("Utena", "LT-2"),
    ("Kėdainiai", "LT-5"), ("Telšiai", "LT-8"), ("Tauragė", "LT-7"), ("Ukmergė", "LT-2"), ("Visaginas", "LT-3"),
    ("Plungė", "LT-9"), ("Kretinga", "LT-9"), ("Palanga", "LT-0"), ("Druskininkai", "LT-6"), ("Biržai", "LT-4"),
]
STREETS = [
    "Gedimino pr.", "Konstitucijos pr.", "Laisvės al.", "Žalgirio g.", "Savanorių pr.", "Vilniaus g.", "Pylimo g.",
    "Šeimyniškių g.", "Kalvarijų g.", "Žirmūnų g.", "Antakalnio g.", "Ąžuolyno g.", "Birutės g.", "Liepų g.",
    "Taikos pr.", "Tilžės g.", "Šilutės pl.", "Ukmergės g.", "Jonavos g.", "Kęstučio g.", "Vytauto g.", "Dariaus ir Girėno g.",
    "Sodų g.", "Miško g.", "Beržų g.", "Ežero g.", "Naujoji g.", "Stoties g.", "Mokyklos g.", "Žemaitės g.",
]
MAIL_DOMAINS = ["gmail.com", "yahoo.com", "inbox.lt", "one.lt", "takas.lt", "mail.ru", "outlook.com", "zebra.lt"]
DOCTOR_TITLES = ["Gyd.", "Dr.", "gyd.", "Med. dr.", "Prof. dr.", "Gydytojas", "Gydytoja"]

LT_MONTHS_GEN = ["sausio", "vasario", "kovo", "balandžio", "gegužės", "birželio", "liepos", "rugpjūčio", "rugsėjo",
                 "spalio", "lapkričio", "gruodžio"]
LT_MONTHS_SHORT = ["Sau", "Vas", "Kov", "Bal", "Geg", "Bir", "Lie", "Rgp", "Rgs", "Spa", "Lap", "Grd"]
EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# Date styles seen on devices and forms; keys are stable names used in layouts (YAML).
DATE_STYLES = (
    "iso", "dots_ymd", "slash_dmy", "dots_dmy", "compact", "dash_dmy_en", "lt_long", "slash_mdy", "slash_ymd",
    "dmy_en_space", "lt_short", "dash_dmy", "short_dmy",
)


def format_date(d: dt.date, style: str) -> str:
    """Render a date in one of ``DATE_STYLES`` (device banners and forms each use their own)."""
    y, m, day = d.year, d.month, d.day
    table = {
        "iso": f"{y:04d}-{m:02d}-{day:02d}",
        "dots_ymd": f"{y:04d}.{m:02d}.{day:02d}",
        "slash_dmy": f"{day:02d}/{m:02d}/{y:04d}",
        "dots_dmy": f"{day:02d}.{m:02d}.{y:04d}",
        "compact": f"{y:04d}{m:02d}{day:02d}",
        "dash_dmy_en": f"{day:02d}-{EN_MONTHS[m - 1]}-{y:04d}",
        "lt_long": f"{y:04d} m. {LT_MONTHS_GEN[m - 1]} {day} d.",
        "slash_mdy": f"{m:02d}/{day:02d}/{y:04d}",
        "slash_ymd": f"{y:04d}/{m:02d}/{day:02d}",
        "dmy_en_space": f"{day} {EN_MONTHS[m - 1]} {y:04d}",
        "lt_short": f"{y:04d}-{LT_MONTHS_SHORT[m - 1]}-{day:02d}",
        "dash_dmy": f"{day:02d}-{m:02d}-{y:04d}",
        "short_dmy": f"{day:02d}.{m:02d}.{y % 100:02d}",
    }
    if style not in table:
        raise ValueError(f"unknown date style {style!r}; known: {', '.join(DATE_STYLES)}")
    return table[style]


# ------------------------------------------------------------------------------------------------ personal code
_W1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 1)
_W2 = (3, 4, 5, 6, 7, 8, 9, 1, 2, 3)


def personal_code_check_digit(first10: str) -> int:
    """Official asmens kodas check digit: weights 1234567891, and if the rest is 10, weights 3456789123."""
    digits = [int(c) for c in first10]
    rest = sum(d * w for d, w in zip(digits, _W1)) % 11
    if rest != 10:
        return rest
    rest = sum(d * w for d, w in zip(digits, _W2)) % 11
    return 0 if rest == 10 else rest


def _century_digit(year: int, sex: str) -> int:
    base = {18: 1, 19: 3, 20: 5}[year // 100]
    return base + (1 if sex == "F" else 0)


def personal_code(rng: random.Random, birth_date: dt.date, sex: str) -> str:
    """A valid 11-digit asmens kodas for this birth date and sex (serial drawn from ``rng``)."""
    head = f"{_century_digit(birth_date.year, sex)}{birth_date:%y%m%d}{rng.randrange(1000):03d}"
    return head + str(personal_code_check_digit(head))


def valid_personal_code(code: str) -> bool:
    """True when ``code`` is 11 digits with a possible gender/century digit, a real date and the right check digit."""
    if len(code) != 11 or not code.isdigit() or code[0] not in "123456":
        return False
    century = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}[code[0]]
    try:
        dt.date(century + int(code[1:3]), int(code[3:5]), int(code[5:7]))
    except ValueError:
        return False
    return personal_code_check_digit(code[:10]) == int(code[10])


# ---------------------------------------------------------------------------------------------- surname forms
def female_surname(male: str, married: bool) -> str:
    """Derive the married (-ienė) or maiden (-aitė/-ytė/-iūtė/-utė) female form of a Lithuanian male surname."""
    if married:
        for end, rep in (("ius", "ienė"), ("us", "uvienė"), ("as", "ienė"), ("is", "ienė"), ("ys", "ienė"),
                         ("a", "ienė"), ("ė", "ienė")):
            if male.endswith(end):
                return male[: -len(end)] + rep
        return male
    for end, rep in (("ius", "iūtė"), ("us", "utė"), ("as", "aitė"), ("is", "ytė"), ("ys", "ytė"),
                     ("a", "aitė"), ("ė", "ytė")):
        if male.endswith(end):
            return male[: -len(end)] + rep
    return male


def strip_diacritics(text: str) -> str:
    """ASCII rendering (old devices and e-mail addresses drop Lithuanian letters)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# -------------------------------------------------------------------------------------------------- identity
@dataclass(frozen=True)
class Identity:
    """One fake person with one examination; every string that identifies them is in ``tokens()``."""

    sex: str                      # "M" or "F" (DICOM PatientSex)
    given_names: tuple[str, ...]  # one or two given names
    family_name: str              # already in the right gendered / married form
    surname_form: str             # male | married | unmarried | neutral | foreign
    personal_code: str            # asmens kodas, 11 digits
    birth_date: dt.date
    exam_date: dt.date
    exam_time: dt.time
    patient_id: str               # hospital record number (not the personal code)
    accession: str
    hospital: str
    department: str
    street: str
    city: str
    postcode: str
    phone: str
    email: str
    referring_doctor: tuple[str, str]   # (given, family)
    performing_doctor: tuple[str, str]
    operator_initials: str
    date_style: str               # the preferred date style of this person's device/clinic
    names: dict[str, str] = field(default_factory=dict)   # renderings, see ``name_renderings``

    # --- derived renderings
    @property
    def name_parts(self) -> tuple[str, ...]:
        return (*self.given_names, self.family_name)

    @property
    def patient_name(self) -> str:
        """inference.textdeid.PersonalValues: the full name as the header holds it."""
        return self.dicom_name

    @property
    def patient_key(self) -> str:
        """What the per-patient date offset is keyed on, as for a header identity."""
        return self.patient_id or self.dicom_name

    def person_names(self) -> tuple[str, ...]:
        """inference.textdeid.PersonalValues: the renderings of this person's name."""
        return tuple(self.names.values())

    @property
    def given(self) -> str:
        return " ".join(self.given_names)

    @property
    def dicom_name(self) -> str:
        """PN value FAMILY^GIVEN (as devices write it)."""
        return f"{self.family_name}^{self.given}"

    @property
    def address(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"

    @property
    def age_years(self) -> int:
        b, e = self.birth_date, self.exam_date
        return e.year - b.year - ((e.month, e.day) < (b.month, b.day))

    @property
    def dicom_age(self) -> str:
        return f"{min(self.age_years, 999):03d}Y"

    def doctor_name(self, which: str = "referring", style: str = "full") -> str:
        given, family = self.referring_doctor if which == "referring" else self.performing_doctor
        if style == "initial":
            return f"{given[0]}. {family}"
        if style == "dicom":
            return f"{family}^{given}"
        return f"{given} {family}"

    def date(self, which: str = "birth", style: str | None = None) -> str:
        d = self.birth_date if which == "birth" else self.exam_date
        return format_date(d, style or self.date_style)

    def tokens(self) -> list[str]:
        """Every identifying string (names in all renderings, codes, dates in all styles, contacts, places)."""
        out: list[str] = []
        out += list(self.name_parts) + list(self.names.values())
        out += [self.personal_code, self.patient_id, self.accession, self.phone, self.email, self.address,
                self.street, self.hospital, self.department]
        out += [self.doctor_name(w, s) for w in ("referring", "performing") for s in ("full", "initial", "dicom")]
        out += list(self.referring_doctor) + list(self.performing_doctor)
        out += [format_date(self.birth_date, s) for s in DATE_STYLES]
        out += [format_date(self.exam_date, s) for s in DATE_STYLES]
        seen: set[str] = set()
        return [t for t in out if t and not (t in seen or seen.add(t))]


def name_renderings(given: str, family: str) -> dict[str, str]:
    """How devices and forms print a name: upper case, comma form, initials, DICOM caret, no diacritics."""
    first_initials = " ".join(f"{g[0]}." for g in given.split())
    return {
        "given_family": f"{given} {family}",
        "family_given": f"{family} {given}",
        "upper_family_given": f"{family.upper()} {given.upper()}",
        "upper_given_family": f"{given.upper()} {family.upper()}",
        "family_comma_given": f"{family}, {given}",
        "upper_comma": f"{family.upper()}, {given.upper()}",
        "initial_family": f"{first_initials} {family}",
        "family_initial": f"{family} {first_initials}",
        "dicom": f"{family}^{given}",
        "upper_dicom": f"{family.upper()}^{given.upper()}",
        "ascii_upper": strip_diacritics(f"{family.upper()} {given.upper()}"),
        "ascii_dicom": strip_diacritics(f"{family}^{given}").upper(),
    }


def _random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def _phone(rng: random.Random) -> str:
    n = f"6{rng.randrange(10**7):07d}"   # mobile numbers: 6xx xxxxx
    style = rng.randrange(5)
    if style == 0:
        return f"+370 {n[:3]} {n[3:]}"
    if style == 1:
        return f"+370{n}"
    if style == 2:
        return f"8 {n[:3]} {n[3:]}"
    if style == 3:
        return f"8{n}"
    return f"+370 ({n[:3]}) {n[3:]}"


def _doctor(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.5:
        return rng.choice(MALE_GIVEN), rng.choice(SURNAMES)
    return rng.choice(FEMALE_GIVEN), female_surname(rng.choice(SURNAMES), married=rng.random() < 0.6)


def make_identity(rng: random.Random, today: dt.date | None = None) -> Identity:
    """Draw one fake person and examination; deterministic for the state of ``rng``."""
    today = today or dt.date(2025, 6, 30)
    sex = "M" if rng.random() < 0.5 else "F"
    if rng.random() < 0.1:
        given, family, sex = rng.choice(FOREIGN_NAMES)
        given_names: tuple[str, ...] = (given,)
        form = "foreign"
    else:
        pool = MALE_GIVEN if sex == "M" else FEMALE_GIVEN
        given_names = (rng.choice(pool),) if rng.random() < 0.85 else tuple(rng.sample(pool, 2))
        male_family = rng.choice(SURNAMES)
        if sex == "M":
            family, form = male_family, "male"
        else:
            r = rng.random()
            form = "married" if r < 0.55 else "unmarried" if r < 0.93 else "neutral"
            family = (male_family[:-2] + "ė" if form == "neutral" and male_family[-2:] in ("as", "is", "ys", "us")
                      else female_surname(male_family, married=form == "married"))
    birth = _random_date(rng, dt.date(1925, 1, 1), today - dt.timedelta(days=30))
    exam = _random_date(rng, max(birth, dt.date(2015, 1, 1)), today)
    exam_time = dt.time(rng.randrange(7, 20), rng.randrange(60), rng.randrange(60))
    city, postprefix = rng.choice(CITIES)
    postcode = f"{postprefix}{rng.randrange(10000):04d}"   # LT-NNNNN, first digit by region
    street = f"{rng.choice(STREETS)} {rng.randrange(1, 140)}" + (f"-{rng.randrange(1, 90)}" if rng.random() < 0.6 else "")
    ascii_given = strip_diacritics(given_names[0]).lower()
    ascii_family = strip_diacritics(family).lower()
    email = rng.choice([f"{ascii_given}.{ascii_family}", f"{ascii_given}{ascii_family[:3]}{rng.randrange(100)}",
                        f"{ascii_given[0]}{ascii_family}"]) + "@" + rng.choice(MAIL_DOMAINS)
    code = personal_code(rng, birth, sex)
    pid = rng.choice([f"{rng.randrange(10**7, 10**8)}", f"LT{rng.randrange(10**6, 10**7)}", f"P-{rng.randrange(10**5, 10**6)}",
                      f"{exam:%Y}-{rng.randrange(10**5):05d}"])
    accession = rng.choice([f"{exam:%Y%m%d}{rng.randrange(10**4):04d}", f"A{rng.randrange(10**7, 10**8)}",
                            f"RAD{rng.randrange(10**6):06d}", f"{rng.randrange(10**9, 10**10)}"])
    ref, perf = _doctor(rng), _doctor(rng)
    initials = strip_diacritics(perf[0][0] + perf[1][0]).upper()
    style = rng.choice(DATE_STYLES)
    return Identity(
        sex=sex, given_names=given_names, family_name=family, surname_form=form, personal_code=code,
        birth_date=birth, exam_date=exam, exam_time=exam_time, patient_id=pid, accession=accession,
        hospital=rng.choice(HOSPITALS), department=rng.choice(DEPARTMENTS), street=street, city=city,
        postcode=postcode, phone=_phone(rng), email=email, referring_doctor=ref, performing_doctor=perf,
        operator_initials=initials, date_style=style, names=name_renderings(" ".join(given_names), family),
    )
