"""Writes febrl_like_a.csv and febrl_like_b.csv: a small synthetic data set in the FEBRL format
(made up here, no FEBRL record), for the linkage accuracy floor test.

100 people appear in both files (`rec-N-org` in a, `rec-N-dup-0` in b, with one to three
corruptions: typos, missing values, swapped names, transposed digits); 20 more people in each
file have no partner. Run: python3 make_febrl_like.py (deterministic).
"""

import random

GIVEN = ["james", "olivia", "jack", "charlotte", "william", "mia", "thomas", "amelia", "lachlan",
         "isla", "noah", "ava", "oliver", "grace", "ethan", "chloe", "joshua", "sophie", "liam",
         "emily", "ryan", "zoe", "samuel", "ella", "daniel", "ruby", "matthew", "lily", "benjamin",
         "hannah"]
SURNAME = ["smith", "jones", "williams", "brown", "wilson", "taylor", "johnson", "white",
           "martin", "anderson", "thompson", "nguyen", "thomas", "walker", "harris", "lee", "ryan",
           "robinson", "kelly", "king", "campbell", "clarke", "mitchell", "young", "hughes",
           "cooper", "morris", "ward", "murphy", "price", "bennett", "dawson", "fraser", "hudson"]
STREET = ["stanley street", "pinkerton circuit", "macquarie place", "barton avenue",
          "jacka crescent", "hawker close", "dalley road", "florey street", "kingsford lane",
          "burnie court", "mawson drive", "lawson parade"]
EXTRA = ["", "", "", "villa 3", "rosedale", "the grange", "unit 12", "kangaroo flats"]
PLACE = [("winston hills", "2153", "nsw"), ("richlands", "4077", "qld"), ("toorak", "3142", "vic"),
         ("scarborough", "6019", "wa"), ("glenelg", "5045", "sa"), ("sandy bay", "7005", "tas"),
         ("braddon", "2612", "act"), ("penrith", "2750", "nsw"), ("cairns", "4870", "qld"),
         ("geelong", "3220", "vic")]
COLUMNS = ["rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb",
           "postcode", "state", "date_of_birth", "soc_sec_id"]


def person(rng, n):
    suburb, postcode, state = rng.choice(PLACE)
    return {
        "rec_id": f"rec-{n}-org", "given_name": rng.choice(GIVEN), "surname": rng.choice(SURNAME),
        "street_number": str(rng.randint(1, 120)), "address_1": rng.choice(STREET),
        "address_2": rng.choice(EXTRA), "suburb": suburb, "postcode": postcode, "state": state,
        "date_of_birth": f"{rng.randint(1920, 2005)}{rng.randint(1, 12):02}{rng.randint(1, 28):02}",
        "soc_sec_id": str(rng.randint(1_000_000, 9_999_999)),
    }


def typo(rng, value):
    if len(value) < 2:
        return value
    i = rng.randrange(len(value) - 1)
    kind = rng.choice(["sub", "del", "ins", "swap"])
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz" if value.isalpha() else "0123456789")
    if kind == "sub":
        return value[:i] + letter + value[i + 1:]
    if kind == "del":
        return value[:i] + value[i + 1:]
    if kind == "ins":
        return value[:i] + letter + value[i:]
    return value[:i] + value[i + 1] + value[i] + value[i + 2:]


def duplicate(rng, record):
    dup = dict(record, rec_id=record["rec_id"].replace("-org", "-dup-0"))
    fields = COLUMNS[1:]
    for _ in range(rng.randint(1, 3)):
        action = rng.random()
        field = rng.choice(fields)
        if action < 0.6:
            dup[field] = typo(rng, dup[field])
        elif action < 0.85:
            dup[field] = ""
        else:
            dup["given_name"], dup["surname"] = dup["surname"], dup["given_name"]
    return dup


def write(path, records):
    with open(path, "w") as f:
        f.write(", ".join(COLUMNS) + "\n")
        for r in records:
            f.write(", ".join(r[c] for c in COLUMNS) + "\n")


def main():
    rng = random.Random(20240611)
    shared = [person(rng, n) for n in range(100)]
    a = shared + [person(rng, n) for n in range(100, 120)]
    b = [duplicate(rng, r) for r in shared] + [
        dict(person(rng, n), rec_id=f"rec-{n}-dup-0") for n in range(120, 140)]
    rng.shuffle(a)
    rng.shuffle(b)
    write("febrl_like_a.csv", a)
    write("febrl_like_b.csv", b)


if __name__ == "__main__":
    main()
