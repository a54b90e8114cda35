"""The demo's cast: 120 people in 30 places (28 countries), and how the seed pairs them.

Sponsor and sponsoree always come from different countries, as in a globally dispersed
program. The first pair is always Sam (New York) sponsoring Aisha (London), so that
``momentum demo --interactive`` has an Aisha to hand to you.
"""

from __future__ import annotations

import random
import unicodedata

from bot.model.interactions import Profile

# (country, time zone, locale, people); the first person of a place is listed first in the pool.
PLACES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("US", "America/New_York", "en-US", ("Sam Rivera", "Jordan Ellis", "Maya Thompson", "Marcus Johnson")),
    ("US", "America/Los_Angeles", "en-US", ("Emily Chen", "Diego Alvarez", "Hannah Scott", "Tyler Brooks")),
    ("US", "America/Chicago", "en-US", ("Keisha Williams", "Brian O'Connor", "Nadia Hassan", "Greg Novak")),
    ("CA", "America/Toronto", "en-CA", ("Olivier Tremblay", "Priyanka Sharma", "Liam MacDonald",
                                        "Chlo\u00e9 Gagnon")),
    ("MX", "America/Mexico_City", "es-MX", ("Luc\u00eda G\u00f3mez", "Alejandro Hern\u00e1ndez", "Valeria Ortiz",
                                            "Mateo Ruiz")),
    ("BR", "America/Sao_Paulo", "pt-BR", ("Camila Souza", "Rafael Oliveira", "Beatriz Lima", "Thiago Santos")),
    ("AR", "America/Argentina/Buenos_Aires", "es-AR", ("Martina Fern\u00e1ndez", "Joaqu\u00edn Pereyra",
                                                       "Sof\u00eda Romero", "Nicol\u00e1s Acosta")),
    ("CO", "America/Bogota", "es-CO", ("Daniela Restrepo", "Andr\u00e9s Mu\u00f1oz", "Isabella Vargas",
                                       "Santiago Rojas")),
    ("GB", "Europe/London", "en-GB", ("Aisha Khan", "Oliver Hughes", "Grace Evans", "Daniel Okafor")),
    ("IE", "Europe/Dublin", "en-IE", ("Siobh\u00e1n Murphy", "Conor Byrne", "Aoife Kelly", "Ciar\u00e1n Walsh")),
    ("FR", "Europe/Paris", "fr-FR", ("Camille Laurent", "Julien Moreau", "L\u00e9a Dubois", "Antoine Bernard")),
    ("DE", "Europe/Berlin", "de-DE", ("Tom M\u00fcller", "Anna Schmidt", "Jonas Becker", "Lena Fischer")),
    ("ES", "Europe/Madrid", "es-ES", ("Carmen Navarro", "Javier L\u00f3pez", "Elena Garc\u00eda",
                                      "Pablo S\u00e1nchez")),
    ("IT", "Europe/Rome", "it-IT", ("Giulia Rossi", "Marco Bianchi", "Francesca Romano", "Luca Ferrari")),
    ("NL", "Europe/Amsterdam", "nl-NL", ("Sanne de Vries", "Daan Jansen", "Fleur Bakker", "Bram Visser")),
    ("PL", "Europe/Warsaw", "pl-PL", ("Zofia Kowalska", "Piotr Nowak", "Agnieszka Wi\u015bniewska",
                                      "Tomasz W\u00f3jcik")),
    ("SE", "Europe/Stockholm", "sv-SE", ("Elsa Lindqvist", "Erik Johansson", "Astrid Nilsson", "Oskar Berg")),
    ("NG", "Africa/Lagos", "en-NG", ("Chiamaka Eze", "Tunde Adeyemi", "Ngozi Obi", "Emeka Nwosu")),
    ("KE", "Africa/Nairobi", "en-KE", ("Wanjiru Kamau", "Kevin Otieno", "Achieng Odhiambo", "David Mwangi")),
    ("ZA", "Africa/Johannesburg", "en-ZA", ("Thandiwe Nkosi", "Pieter van der Merwe", "Lerato Dlamini",
                                            "Sipho Mokoena")),
    ("EG", "Africa/Cairo", "ar-EG", ("Nour El-Sayed", "Omar Farouk", "Yasmin Mostafa", "Karim Adel")),
    ("AE", "Asia/Dubai", "ar-AE", ("Fatima Al Mansoori", "Rashid Al Falasi", "Layla Haddad", "Yousef Khalil")),
    ("IN", "Asia/Kolkata", "en-IN", ("Ananya Iyer", "Rohan Mehta", "Kavya Reddy", "Arjun Nair")),
    ("SG", "Asia/Singapore", "en-SG", ("Wei Ling Tan", "Jun Hao Lim", "Siti Rahman", "Ravi Menon")),
    ("JP", "Asia/Tokyo", "ja-JP", ("Kenji Sato", "Yuki Tanaka", "Haruto Suzuki", "Aiko Watanabe")),
    ("KR", "Asia/Seoul", "ko-KR", ("Ji-woo Park", "Min-jun Kim", "Seo-yeon Lee", "Hyun-woo Choi")),
    ("CN", "Asia/Shanghai", "zh-CN", ("Li Na Wang", "Chen Jie", "Zhang Wei", "Liu Yang")),
    ("PH", "Asia/Manila", "en-PH", ("Maria Reyes", "Jose Cruz", "Angelica Bautista", "Paolo Garcia")),
    ("AU", "Australia/Sydney", "en-AU", ("Olivia Brown", "Jack Wilson", "Mia Taylor", "Noah Campbell")),
    ("NZ", "Pacific/Auckland", "en-NZ", ("Aroha Ngata", "James Walker", "Ruby Thompson", "Manaia Tane")),
)

ADMIN = Profile("U_PRIYA", "Priya Patel", "priya@example.com", "Europe/London", "en-GB", True, "GB",
                given_name="Priya")
# The name each person goes by, as their profile's given name says (Slack's first_name): for most of the
# cast the first word, but not for these (family name first, or a given name of two words).
GIVEN = {"Li Na Wang": "Li Na", "Wei Ling Tan": "Wei Ling", "Jun Hao Lim": "Jun Hao", "Chen Jie": "Jie",
         "Zhang Wei": "Wei", "Liu Yang": "Yang"}
FIRST_SPONSOR, FIRST_SPONSOREE = "U_SAM", "U_AISHA"
MAX_PAIRS = 50


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _profile(name: str, country: str, tz: str, locale: str, taken: set[str]) -> Profile:
    folded = ascii_fold(name)
    parts = folded.split()
    ident = "U_" + "".join(ch for ch in parts[0] if ch.isalnum()).upper()
    if ident in taken:
        ident += "_" + "".join(ch for ch in parts[-1] if ch.isalnum()).upper()
    taken.add(ident)
    email = ".".join("".join(ch for ch in p if ch.isalnum()) for p in (parts[0], parts[-1])).lower()
    return Profile(ident, name, f"{email}@example.com", tz, locale, False, country,
                   given_name=GIVEN.get(name, name.split()[0]))


def _build() -> tuple[Profile, ...]:
    taken: set[str] = {ADMIN.external_id}
    return tuple(_profile(n, c, tz, loc, taken) for c, tz, loc, names in PLACES for n in names)


PEOPLE: tuple[Profile, ...] = _build()
BY_ID: dict[str, Profile] = {p.external_id: p for p in (ADMIN, *PEOPLE)}


def draw_pairs(n: int, rng: random.Random) -> list[tuple[Profile, Profile]]:
    """``n`` (sponsor, sponsoree) pairs, each from two different countries; nobody twice."""
    if not 1 <= n <= MAX_PAIRS:
        raise ValueError(f"--pairs must be between 1 and {MAX_PAIRS}")
    pairs = [(BY_ID[FIRST_SPONSOR], BY_ID[FIRST_SPONSOREE])]
    pool = [p for p in PEOPLE if p.external_id not in (FIRST_SPONSOR, FIRST_SPONSOREE)]
    rng.shuffle(pool)
    while len(pairs) < n:
        sponsor = pool.pop()
        other = next(i for i in range(len(pool) - 1, -1, -1) if pool[i].country != sponsor.country)
        pairs.append((sponsor, pool.pop(other)))
    return pairs
