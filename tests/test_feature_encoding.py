"""Every encoded feature id of a hand-built table, worked out by hand.

The encodings (``harness.model.features``):

- ``hour_of_day``: the UTC hour itself, 0-23 (an embedding of 24 rows, no OOV id);
- ``day_of_week``: UTC weekday with Monday = 0 ... Sunday = 6 (1970-01-01 was a
  Thursday, 3);
- looked-up features (``user_id`` and the profile: ``user_age`` = tfds's age bucket as a
  string, ``user_gender`` "F"/"M", ``user_occupation``, ``user_zip_prefix`` = the first 3
  characters of the zip code): 1 + position in the sorted distinct values of the fit
  rows, and 0 for a value the fit rows never had (Keras StringLookup's OOV id);
- ``title_tokens``: TextVectorization adapted on the distinct titles of the fit rows:
  0 = padding, 1 = OOV, then words by descending frequency from 2 on;
- ``title_genres``: per candidate title, the union of its movies' genres, each 1/count.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

DAY, HOUR = 86_400, 3_600

# user_id -> (age, gender, occupation, zip code). User "4" rates only outside the fit
# rows, so every one of its values except the gender is out of vocabulary.
USERS = {
    "1": (17, "M", "student", "12345"),  # age bucket 1
    "2": (30, "F", "engineer", "T8H1N"),  # bucket 25; a Canadian postcode
    "3": (56, "M", "artist", "12399"),  # bucket 56; same zip prefix as user 1
    "4": (45, "F", "writer", "98101"),  # bucket 45
}
# movie_id -> (title, genres). Movies 2 and 6 share a title: one candidate.
MOVIES = {
    "1": ("Alpha", ["Action", "Comedy"]),
    "2": ("Alpha Beta", ["Drama"]),
    "3": ("Alpha Beta Gamma", ["Sci-Fi", "Thriller", "War"]),
    "4": ("Gamma Delta", ["Horror"]),  # rated outside the fit rows only
    "5": ("Beta, Alpha", ["Children"]),  # never rated
    "6": ("Alpha Beta", ["Drama", "Romance"]),
}
# The candidates, sorted titles: 0 Alpha, 1 Alpha Beta, 2 Alpha Beta Gamma,
# 3 Beta, Alpha, 4 Gamma Delta.

# Vocabularies of the fit rows (users 1-3), sorted, ids from 1:
#   user_id "1" 1, "2" 2, "3" 3            user_age "1" 1, "25" 2, "56" 3
#   user_gender "F" 1, "M" 2               user_occupation artist 1, engineer 2, student 3
#   user_zip_prefix "123" 1, "T8H" 2
PROFILE_IDS = {  # user -> (user_id, user_age, user_gender, user_occupation, zip prefix)
    "1": (1, 1, 2, 3, 1),
    "2": (2, 2, 1, 2, 2),
    "3": (3, 3, 2, 1, 1),
    "4": (0, 0, 1, 0, 0),
}

# (user, movie, UTC timestamp, hour, weekday Monday = 0, candidate row)
RATINGS = (
    ("1", "1", 4 * DAY + 13 * HOUR + 25 * 60, 13, 0, 0),  # Mon 1970-01-05 13:25:00
    ("2", "2", 4 * DAY - 1, 23, 6, 1),  # Sun 1970-01-04 23:59:59
    ("3", "3", 0, 0, 3, 2),  # Thu 1970-01-01 00:00:00
    ("1", "6", 874_724_710, 3, 5, 1),  # Sat 1997-09-20 03:05:10, MovieLens's first
    ("2", "3", 5 * DAY + 6 * HOUR + 3599, 6, 1, 2),  # Tue 1970-01-06 06:59:59
    ("3", "1", 6 * DAY + 12 * HOUR, 12, 2, 0),  # Wed 1970-01-07 12:00:00
    ("4", "4", DAY + 18 * HOUR + 30 * 60, 18, 4, 4),  # Fri 1970-01-02 18:30:00
    ("4", "1", 9 * DAY + 1, 0, 5, 0),  # Sat 1970-01-10 00:00:01
)


def handmade_table():
    """The table above through the loader's own constructor (canonical row order)."""
    from harness.data.table import build_table

    rows = [(user, movie, 4.0, timestamp) for user, movie, timestamp, *_ in RATINGS]
    users = {user: (age, gender, occupation, zip_code)
             for user, (age, gender, occupation, zip_code) in USERS.items()}
    where = {"ratings": "hand", "movies": "hand", "users": "hand"}
    return build_table(rows, MOVIES, users, "handmade", where)


def expected_in_table_order(data) -> dict[str, np.ndarray]:
    """The hand values of RATINGS, reordered as the table's rows (timestamps distinct)."""
    by_time = {rating[2]: rating for rating in RATINGS}
    rows = [by_time[t] for t in data.ratings["timestamp"].tolist()]
    expected = {
        "hour_of_day": [r[3] for r in rows],
        "day_of_week": [r[4] for r in rows],
        "candidate": [r[5] for r in rows],
    }
    for index, name in enumerate(("user_id", "user_age", "user_gender", "user_occupation",
                                  "user_zip_prefix")):
        expected[name] = [PROFILE_IDS[r[0]][index] for r in rows]
    return {name: np.array(values, dtype=np.int64) for name, values in expected.items()}


@pytest.fixture
def fitted_and_encoded():
    from harness.model.features import fit_features, get_config

    data = handmade_table()
    fit_rows = np.flatnonzero(data.ratings["user_id"] != "4")
    fitted = fit_features(get_config("all"), data, fit_rows, "train")
    return data, fitted, fitted.transform(data, np.arange(data.num_ratings))


def test_hour_weekday_and_profile_ids_worked_by_hand(fitted_and_encoded):
    data, _, features = fitted_and_encoded
    expected = expected_in_table_order(data)
    for name, values in expected.items():
        assert features[name].dtype == np.int64, name
        np.testing.assert_array_equal(features[name], values, err_msg=name)


@pytest.mark.parametrize("zone", ["NPT-5:45", "EST+5"])  # POSIX: UTC+5:45, UTC-5
def test_time_features_are_utc_whatever_the_local_time_zone(fitted_and_encoded, monkeypatch,
                                                            zone):
    data, fitted, _ = fitted_and_encoded
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        features = fitted.transform(data, np.arange(data.num_ratings))
    finally:
        monkeypatch.undo()
        time.tzset()
    expected = expected_in_table_order(data)
    np.testing.assert_array_equal(features["hour_of_day"], expected["hour_of_day"])
    np.testing.assert_array_equal(features["day_of_week"], expected["day_of_week"])


def test_vocabularies_are_the_sorted_values_of_the_fit_rows(fitted_and_encoded):
    _, fitted, _ = fitted_and_encoded
    expected = {
        "user_id": ["1", "2", "3"], "user_age": ["1", "25", "56"],
        "user_gender": ["F", "M"], "user_occupation": ["artist", "engineer", "student"],
        "user_zip_prefix": ["123", "T8H"],
    }
    for name, values in expected.items():
        assert fitted.vocabularies[name].tolist() == values, name
        assert fitted.vocabulary_size(name) == len(values) + 1, name  # + the OOV id 0


def test_title_tokens_worked_by_hand(fitted_and_encoded):
    _, fitted, _ = fitted_and_encoded
    assert fitted.candidate_titles.tolist() == [
        "Alpha", "Alpha Beta", "Alpha Beta Gamma", "Beta, Alpha", "Gamma Delta"]
    # Fit titles: Alpha, Alpha Beta, Alpha Beta Gamma. Counts alpha 3, beta 2, gamma 1:
    # alpha 2, beta 3, gamma 4 (1 is OOV). "delta" occurs only in a title outside the fit
    # rows: OOV. Case and punctuation are stripped ("Beta, Alpha").
    np.testing.assert_array_equal(fitted.title_tokens, [
        [2, 0, 0],
        [2, 3, 0],
        [2, 3, 4],
        [3, 2, 0],
        [4, 1, 0],
    ])


def test_genres_worked_by_hand(fitted_and_encoded):
    from harness.data.sources import GENRE_NAMES

    _, fitted, _ = fitted_and_encoded
    genre = {name: index for index, name in enumerate(GENRE_NAMES)}
    one, half, third = np.float32(1), np.float32(1) / np.float32(2), np.float32(1) / np.float32(3)
    expected = np.zeros((5, len(GENRE_NAMES)), dtype=np.float32)
    expected[0, [genre["Action"], genre["Comedy"]]] = half
    expected[1, [genre["Drama"], genre["Romance"]]] = half  # movies 2 and 6 pooled
    expected[2, [genre["Sci-Fi"], genre["Thriller"], genre["War"]]] = third
    expected[3, genre["Children"]] = one
    expected[4, genre["Horror"]] = one
    assert fitted.title_genres.dtype == np.float32
    # Exact: each value is one float32 division 1 / count, as written here.
    np.testing.assert_array_equal(fitted.title_genres, expected)
    assert [genre["Action"], genre["Comedy"], genre["Drama"], genre["Children"]] == [0, 4, 7, 3]
