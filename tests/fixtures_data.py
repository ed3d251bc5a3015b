"""Tiny MovieLens-100k files, in the GroupLens and the RecBole layout, for loader tests.

One small dataset is written in both formats so tests can check that the two parse to the
same table. It has what the loader must get right: ratings given out of canonical order
(ties in time between users "2" and "10", and within one user between movies "2" and
"10", which string order would sort the wrong way), an accented title (é, ISO-8859-1 in
u.item, UTF-8 in RecBole), GroupLens's "unknown" movie (RecBole: "unkonwn"), the
"Children's" genre, a movie nobody rated, zip codes that are not numbers, and one user
per tfds age bucket edge.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

T0 = 874724710  # the real data's first timestamp

# (user_id, age, gender, occupation, zip code)
USERS = (
    ("1", 17, "M", "student", "12345"),
    ("2", 18, "F", "other", "05201"),
    ("3", 24, "M", "technician", "T8H1N"),
    ("4", 25, "F", "writer", "94043"),
    ("5", 34, "M", "engineer", "55106"),
    ("6", 35, "F", "educator", "29206"),
    ("7", 45, "M", "lawyer", "90703"),
    ("8", 50, "F", "administrator", "91344"),
    ("9", 56, "M", "retired", "10003"),
    ("10", 60, "F", "none", "98101"),
)
# tfds's bucketized_user_age for each user above.
EXPECTED_AGE_BUCKET = {"1": 1, "2": 18, "3": 18, "4": 25, "5": 25, "6": 35, "7": 45,
                       "8": 50, "9": 56, "10": 56}

# (movie_id, title without year or None for GroupLens's "unknown", year, genres in
# RecBole's spelling and GroupLens's flag order)
MOVIES = (
    ("1", "Toy Story", "1995", ("Animation", "Children's", "Comedy")),
    ("2", "Misérables, Les", "1995", ("Drama", "Musical")),
    ("3", None, None, ("unknown",)),
    ("4", "Blade Runner", "1982", ("Film-Noir", "Sci-Fi")),
    ("5", "Heat", "1995", ("Action", "Crime", "Thriller")),
    ("10", "Wizard of Oz, The", "1939", ("Adventure", "Children's", "Drama", "Musical")),
    ("12", "Nénette et Boni", "1996", ("Drama",)),  # in the catalogue, never rated
)
# The titles as tfds spells them.
EXPECTED_TITLE = {
    "1": "Toy Story (1995)", "2": "Misérables, Les (1995)", "3": "unknown",
    "4": "Blade Runner (1982)", "5": "Heat (1995)", "10": "Wizard of Oz, The (1939)",
    "12": "Nénette et Boni (1996)",
}
# Ids into harness.data.GENRE_NAMES, written out by hand.
EXPECTED_GENRE_IDS = {
    "1": [2, 3, 4], "2": [7, 12], "3": [17], "4": [9, 15], "5": [0, 5, 16],
    "10": [1, 3, 7, 12], "12": [7],
}

# (user_id, movie_id, rating, timestamp), deliberately not in canonical order.
RATINGS = (
    ("10", "1", 4, T0 + 100),
    ("2", "1", 5, T0 + 100),
    ("2", "10", 3, T0 + 50),
    ("2", "2", 2, T0 + 50),
    ("1", "5", 1, T0),
    ("3", "3", 3, T0 + 200),
    ("4", "4", 5, T0 + 300),
    ("5", "2", 4, T0 + 300),
    ("6", "10", 2, T0 + 400),
    ("7", "1", 3, T0 + 500),
    ("8", "5", 4, T0 + 600),
    ("9", "4", 5, T0 + 700),
    ("1", "1", 3, T0 + 800),
    ("1", "2", 4, T0 + 900),
    ("3", "4", 2, T0 + 900),
    ("10", "10", 1, T0 + 1000),
    ("4", "1", 4, T0 + 1100),
    ("5", "5", 3, T0 + 1200),
    ("6", "2", 5, T0 + 1300),
    ("7", "3", 2, T0 + 1400),
    ("8", "1", 1, T0 + 1500),
    ("9", "10", 4, T0 + 1600),
    ("2", "4", 3, T0 + 1700),
    ("10", "5", 5, T0 + 1800),
)

GROUPLENS_FLAG_ORDER = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
RECBOLE_HEADERS = {
    "inter": "user_id:token\titem_id:token\trating:float\ttimestamp:float",
    "item": "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq",
    "user": "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token",
}
WHEEL_PREFIX = "recbole/dataset_example/ml-100k/"


def canonical_ratings(ratings=RATINGS) -> list[tuple[str, str, int, int]]:
    """The ratings in the loader's canonical order: time, then user, then movie (numeric)."""
    return sorted(ratings, key=lambda r: (r[3], int(r[0]), int(r[1])))


def grouplens_files(users=USERS, movies=MOVIES, ratings=RATINGS) -> dict[str, bytes]:
    """u.data, u.item (ISO-8859-1, 24 fields) and u.user as GroupLens writes them."""
    data = "".join(f"{u}\t{m}\t{r}\t{t}\n" for u, m, r, t in ratings)
    item_lines = []
    for movie_id, title, year, genres in movies:
        flags = "|".join("1" if g in genres else "0" for g in GROUPLENS_FLAG_ORDER)
        if title is None:
            item_lines.append(f"{movie_id}|unknown||||{flags}\n")
        else:
            item_lines.append(
                f"{movie_id}|{title} ({year})|01-Jan-{year}||"
                f"http://us.imdb.com/M/title-exact?{movie_id}|{flags}\n")
    user = "".join(f"{u}|{age}|{g}|{occ}|{zip_code}\n" for u, age, g, occ, zip_code in users)
    return {"u.data": data.encode("iso-8859-1"),
            "u.item": "".join(item_lines).encode("iso-8859-1"),
            "u.user": user.encode("iso-8859-1")}


def recbole_files(users=USERS, movies=MOVIES, ratings=RATINGS) -> dict[str, bytes]:
    """ml-100k.inter, .item and .user as RecBole 1.2.1 ships them (UTF-8, typed header)."""
    inter = [RECBOLE_HEADERS["inter"]] + [f"{u}\t{m}\t{r}\t{t}" for u, m, r, t in ratings]
    item = [RECBOLE_HEADERS["item"]]
    for movie_id, title, year, genres in movies:
        if title is None:  # RecBole's spelling of GroupLens's "unknown" movie
            item.append(f"{movie_id}\tunkonwn\tunkonwn\t{' '.join(genres)}")
        else:
            item.append(f"{movie_id}\t{title}\t{year}\t{' '.join(genres)}")
    user = [RECBOLE_HEADERS["user"]] + ["\t".join(map(str, row)) for row in users]
    return {f"ml-100k.{part}": ("\n".join(lines) + "\n").encode("utf-8")
            for part, lines in (("inter", inter), ("item", item), ("user", user))}


def write_files(directory: Path, files: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_bytes(content)
    return directory


def write_zip(path: Path, files: dict[str, bytes], prefix: str = "",
              compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in files.items():
            archive.writestr(prefix + name, content)
    return path


def write_grouplens(directory: Path, layout: str = "loose",
                    files: dict[str, bytes] | None = None) -> Path:
    """Writes the GroupLens files into ``directory`` and returns the directory to load.

    Args:
        layout: "loose" (u.* in the directory), "subdir" (in directory/ml-100k/) or
            "zip" (directory/ml-100k.zip with an ml-100k/ folder inside, as GroupLens
            ships it).
    """
    files = grouplens_files() if files is None else files
    if layout == "loose":
        write_files(directory, files)
    elif layout == "subdir":
        write_files(directory / "ml-100k", files)
    elif layout == "zip":
        write_zip(directory / "ml-100k.zip", files, prefix="ml-100k/")
    else:
        raise ValueError(layout)
    return directory


def write_recbole(directory: Path, files: dict[str, bytes] | None = None) -> Path:
    return write_files(directory, recbole_files() if files is None else files)


def synthetic_files(n_users: int, n_movies: int, n_ratings: int, seed: int
                    ) -> dict[str, bytes]:
    """Random GroupLens files with every user rating at least once (for subsampling)."""
    rng = np.random.default_rng(seed)
    users = tuple((str(u), int(rng.integers(10, 70)), "MF"[u % 2], "other", f"{u:05d}")
                  for u in range(1, n_users + 1))
    movies = tuple((str(m), f"Movie {m}", "1990", ("Drama",)) for m in range(1, n_movies + 1))
    user_of_row = np.r_[np.arange(1, n_users + 1),
                        rng.integers(1, n_users + 1, n_ratings - n_users)]
    ratings = tuple((str(u), str(rng.integers(1, n_movies + 1)), int(rng.integers(1, 6)),
                     T0 + int(rng.integers(0, 1000))) for u in user_of_row)
    return grouplens_files(users, movies, ratings)
