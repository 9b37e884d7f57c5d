"""The BM25 vectors and the query parsing that both engines share."""

from __future__ import annotations

from osmose_dagster.core.index.bm25 import (
    K1,
    B,
    document_vector,
    query_vector,
    term_id,
    tokenize,
)
from osmose_dagster.core.index.query import parse_query


def test_words_of_the_three_languages_are_kept_and_folded_alike():
    assert tokenize("Gießerei Müller: Qualität über alles") == [
        "giesserei",
        "muller",
        "qualitat",
        "uber",
        "alles",
    ]
    assert tokenize("L'énergie éolienne, c'est 97 % de disponibilité") == [
        "energie",
        "eolienne",
        "est",
        "97",
        "de",
        "disponibilite",
    ]
    # No stop words and no stemming: "die", "the", "les" stay words a query can match.
    assert tokenize("The Die Les") == ["the", "die", "les"]
    # Codes split at punctuation, digits kept even alone.
    assert tokenize("E-4417 at 2 % on SKU_88") == ["4417", "at", "2", "on", "sku", "88"]


def test_term_ids_are_stable_across_processes():
    # Fixed values: a change here would make every stored sparse vector disagree with queries.
    assert term_id("qualitat") == term_id("qualitat")
    assert term_id("qualitat") != term_id("qualitaet")
    assert 0 <= term_id("x") < 2**32
    assert term_id("gpu") == 1232338519


def test_document_weights_saturate_and_queries_weigh_each_term_once():
    once = document_vector("", "pump")
    thrice = document_vector("", "pump pump pump")
    assert once.indices == thrice.indices
    assert once.values[0] < thrice.values[0] < K1 + 1  # grows with tf, never past k1 + 1
    assert 0 < B < 1
    query = query_vector("pump Pump PUMP valve")
    assert sorted(query.values) == [1.0, 1.0] and query.indices == sorted(query.indices)
    assert not query_vector("  ,;  ")


def test_quoted_phrases_are_parsed_from_straight_and_typographic_quotes():
    parsed = parse_query('pump "outlet pressure" fault «vent fort» „Ziel null“')
    assert parsed.phrases == ("outlet pressure", "vent fort", "Ziel null")
    assert parsed.text == "pump outlet pressure fault vent fort Ziel null"
    assert parse_query('an "unbalanced quote').phrases == ()


def test_chinese_and_japanese_give_pairs_of_characters_and_other_scripts_keep_their_marks():
    assert tokenize("ゾルゲと尾崎、淡々と最期") == [
        *["ゾル", "ルゲ", "ゲと", "と尾", "尾崎"],
        *["淡々", "々と", "と最", "最期"],
    ]
    assert tokenize("GPU用2024年") == ["gpu", "用", "2024", "年"]
    assert tokenize("（ＧＨＱ） ﬁnance ｶﾀｶﾅ") == ["ghq", "finance", "カタ", "タカ", "カナ"]
    # The tatweel stretching an Arabic word is not part of it; the hamza is.
    assert tokenize("الجـزائر") == tokenize("الجزائر") == ["الجزائر"]
    assert tokenize("Ελληνικά Ωμέγα") == ["ελληνικά", "ωμέγα"]  # as Qdrant's ascii folding


def test_a_quoted_phrase_without_a_word_is_searched_as_free_text():
    parsed = parse_query('"*" quota per team')
    assert parsed.phrases == ()
    assert parsed.text == "* quota per team"
