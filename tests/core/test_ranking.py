"""The per-query weight of the exact words (core/index/ranking.py), on plain numbers and texts."""

import math

from osmose_dagster.core.index.ranking import (
    LEXICAL_WEIGHT_RARE,
    LEXICAL_WEIGHT_SPLIT,
    LEXICAL_WEIGHT_WHOLE,
    LEXICAL_WEIGHT_WORDS,
    coverage,
    idf,
    lexical_weight,
)


def test_idf_is_qdrants():
    assert idf(1000, 1) == math.log(1 + 999.5 / 1.5)
    assert idf(1000, 1) > idf(1000, 10) > idf(1000, 999) > 0


def test_coverage_is_the_share_of_the_query_idf_the_texts_hold_accents_and_case_aside():
    weights = {"giesserei": 3.0, "muller": 1.0}
    assert coverage(weights, ["Die Gießerei in Ulm"]) == 0.75
    assert coverage(weights, ["Gießerei MÜLLER"]) == 1.0
    assert coverage(weights, ["nothing here"]) == 0.0
    assert coverage({}, ["anything"]) == 0.0


def test_a_line_held_whole_by_the_best_hit_gets_the_full_weight():
    frequencies = {"the": 400, "pump": 30, "fault": 50, "4471": 1}
    best = ["Fault E-4471 on the pump controller", "pump maintenance"]
    assert lexical_weight(frequencies, 500, best) == LEXICAL_WEIGHT_WHOLE


def test_two_rare_names_on_two_slides_get_the_split_weight():
    frequencies = {"kestrel": 1, "okonkwo": 1}
    best = ["Project Kestrel ships in May", "Adaeze Okonkwo leads the migration"]
    assert lexical_weight(frequencies, 50, best) == LEXICAL_WEIGHT_SPLIT


def test_a_question_in_other_words_leaves_the_ranking_to_the_dense_vectors():
    frequencies = {"how": 40, "do": 60, "we": 80, "stop": 4, "customers": 30, "leaving": 2}
    best = ["Customers we lost in Q3", "How we stop the churn of customers"]
    assert lexical_weight(frequencies, 500, best) == LEXICAL_WEIGHT_WORDS
    assert lexical_weight(frequencies, 500, []) == 0.0
    assert lexical_weight({"zzz": 0}, 500, ["text"]) == 0.0


def test_words_the_library_does_not_have_count_against_the_exact_words():
    """Only "we" and "to" of this question are in the library, both on one slide: that slide
    does not hold the question."""
    frequencies = {"how": 0, "many": 0, "people": 0, "we": 3, "to": 9, "employ": 0}
    assert lexical_weight(frequencies, 10, ["We will grow to 468"]) == LEXICAL_WEIGHT_WORDS


def test_a_query_of_rare_words_only_is_ranked_by_its_words_even_when_no_two_hits_hold_it():
    """Two names of one deck, each on several slides: the best two hits both hold the rarer one,
    yet every word is rare (at most 1% of the points): BM25 decides."""
    frequencies = {"kestrel": 4, "okonkwo": 3}
    best = ["Okonkwo signs off", "Okonkwo again"]
    assert lexical_weight(frequencies, 1000, best) == LEXICAL_WEIGHT_RARE
    assert lexical_weight(frequencies, 50, best) == LEXICAL_WEIGHT_WORDS  # no word rare in 50
    # One common word makes it a question again.
    assert lexical_weight({**frequencies, "the": 900}, 1000, best) == LEXICAL_WEIGHT_WORDS
