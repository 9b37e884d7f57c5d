"""Deterministic sample PowerPoint decks for the demo and the tests.

Four decks (two English, one French, one German). Each one has a title slide and
then 2-4 topics. Every topic covers a run of consecutive slides, so a topic
segmenter has real boundaries to find. Each topic has a search phrase that only
appears in its own deck, e.g. "GPU quota" or "Ausschussquote".

The content lives in ``SAMPLE_DECKS`` as plain data. A small builder turns it
into .pptx files. Writing the decks twice gives byte-identical files, because
the core properties are pinned and the zip is rewritten with fixed entry
timestamps (python-pptx stamps each zip entry with the current time).

    python -m osmose_dagster.cli.samples OUT_DIR
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE
from pptx.util import Emu, Inches, Pt

__all__ = [
    "SAMPLE_DECKS",
    "DeckSpec",
    "GroupSpec",
    "SlideSpec",
    "TableSpec",
    "TopicSpec",
    "build_deck",
    "write_sample_decks",
]

FIXED_TIMESTAMP = dt.datetime(2024, 11, 4, 9, 30, 0)
ZIP_DATE_TIME = (2024, 11, 4, 9, 30, 0)
AUTHOR = "osmose_dagster samples"

# Layout indices of python-pptx's bundled default template.
_LAYOUT_TITLE = 0
_LAYOUT_TITLE_AND_CONTENT = 1
_LAYOUT_TITLE_ONLY = 5


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class TableSpec:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class GroupSpec:
    """A diagram drawn as a group shape. Items are box labels or nested groups.

    Items are laid out left to right in a row. A nested group stacks its own
    items vertically inside its column.
    """

    items: tuple[str | GroupSpec, ...]
    caption: str | None = None


@dataclass(frozen=True)
class SlideSpec:
    title: str
    bullets: tuple[str, ...] = ()
    notes: str | None = None
    table: TableSpec | None = None
    group: GroupSpec | None = None


@dataclass(frozen=True)
class TopicSpec:
    name: str
    search_phrase: str  # found only in this topic's slides, and in no other deck
    slides: tuple[SlideSpec, ...]


@dataclass(frozen=True)
class DeckSpec:
    filename: str
    language: str  # BCP 47 tag, e.g. "en-US"
    title: str
    subtitle: str
    topics: tuple[TopicSpec, ...]
    title_notes: str | None = None

    @property
    def slide_count(self) -> int:
        return 1 + sum(len(t.slides) for t in self.topics)

    def topic_ranges(self) -> list[tuple[str, int, int]]:
        """(topic name, first slide, last slide), 1-based and inclusive. Slide 1 is the title."""
        ranges, start = [], 2
        for topic in self.topics:
            end = start + len(topic.slides) - 1
            ranges.append((topic.name, start, end))
            start = end + 1
        return ranges


def _s(
    title: str,
    *bullets: str,
    notes: str | None = None,
    table: TableSpec | None = None,
    group: GroupSpec | None = None,
) -> SlideSpec:
    return SlideSpec(title=title, bullets=tuple(bullets), notes=notes, table=table, group=group)


def _t(header: tuple[str, ...], *rows: tuple[str, ...]) -> TableSpec:
    return TableSpec(header=header, rows=tuple(rows))


def _g(*items: str | GroupSpec, caption: str | None = None) -> GroupSpec:
    return GroupSpec(items=tuple(items), caption=caption)


# --------------------------------------------------------------------------- content

QUARTERLY_REVIEW_EN = DeckSpec(
    filename="quarterly_review_en.pptx",
    language="en-US",
    title="Q3 2024 Quarterly Business Review",
    subtitle="Northwind Analytics - Executive Leadership Team",
    title_notes="Welcome everyone. We cover sales, churn and the hiring plan; questions at the end of each part.",
    topics=(
        TopicSpec(
            name="Q3 sales results by region",
            search_phrase="revenue by region",
            slides=(
                _s(
                    "Q3 Sales Results: Headline Numbers",
                    "Total Q3 revenue reached $48.2M, up 12% year over year and 4% above plan.",
                    "EMEA outperformed with 18% growth, driven by three enterprise renewals in Germany and the Nordics.",
                    "North America grew 9%, slowed by longer procurement cycles in the public sector.",
                    "APAC bookings were flat, but qualified pipeline for Q4 doubled after the Singapore office opened.",
                    notes="Stress that the plan beat came from EMEA. North America missed plan by one point.",
                ),
                _s(
                    "Q3 Revenue by Region",
                    table=_t(
                        ("Region", "Q3 2023 ($M)", "Q3 2024 ($M)", "Growth", "vs. Plan"),
                        ("North America", "19.6", "21.4", "+9%", "-1%"),
                        ("EMEA", "12.1", "14.3", "+18%", "+7%"),
                        ("APAC", "7.9", "7.9", "0%", "-3%"),
                        ("Latin America", "3.5", "4.6", "+31%", "+12%"),
                        ("Total", "43.1", "48.2", "+12%", "+4%"),
                    ),
                    notes="Revenue by region, in millions of US dollars, recognized revenue only. "
                    "Latin America is small but grew fastest thanks to the Mexico City reseller.",
                ),
                _s(
                    "Regional Sales Outlook for Q4",
                    "Pipeline coverage for Q4 stands at 3.1x the regional sales quota, against a 3x target.",
                    "EMEA expects two seven-figure deals to close in November, both in late-stage legal review.",
                    "North America will shift two account executives from SMB to public-sector accounts.",
                ),
            ),
        ),
        TopicSpec(
            name="Customer churn analysis",
            search_phrase="customer churn",
            slides=(
                _s(
                    "Customer Churn Analysis: Where We Lose Accounts",
                    "Gross logo churn rose to 6.8% in Q3, up from 5.1% in Q2.",
                    "Two thirds of the churned accounts had fewer than five active seats at cancellation.",
                    "Net revenue retention stayed at 108% because large accounts kept expanding.",
                    "Customer churn is concentrated in the first twelve months after signature.",
                    notes="Logo churn counts accounts; revenue churn weights by contract value. Both are on the dashboard.",
                ),
                _s(
                    "Churn Drivers from Exit Interviews",
                    "41% of departing customers named missing integrations with their CRM as the main reason.",
                    "23% moved to a cheaper competitor after a price increase at renewal.",
                    "Slow support response times were cited by 18%, mostly in the APAC time zones.",
                ),
                _s(
                    "Retention Playbook",
                    "Every account gets a health score from product usage, support tickets and renewal date.",
                    "Customer success managers call accounts whose health score drops below 60 within two days.",
                    "A renewal review starts 120 days before contract end instead of 60 days.",
                    "Target: bring gross churn back below 5% by the end of Q1 2025.",
                    notes="Ask the board to approve two additional customer success managers for APAC.",
                ),
            ),
        ),
        TopicSpec(
            name="Hiring plan",
            search_phrase="headcount",
            slides=(
                _s(
                    "Hiring Plan for H1 2025",
                    "We plan to grow total headcount from 412 to 468 employees by the end of June 2025.",
                    "Engineering and customer success account for 70% of the new roles.",
                    "Every new requisition needs an approved business case and a named hiring manager.",
                ),
                _s(
                    "Headcount by Department",
                    table=_t(
                        ("Department", "Current headcount", "Open requisitions", "Target Q2 2025"),
                        ("Engineering", "168", "24", "192"),
                        ("Sales", "96", "8", "104"),
                        ("Customer Success", "54", "15", "69"),
                        ("Marketing", "38", "3", "41"),
                        ("G&A", "56", "6", "62"),
                    ),
                    notes="Target headcount includes backfills. Open requisitions are approved but not yet filled.",
                ),
                _s(
                    "Recruiting Pipeline and Time-to-Hire",
                    "Median time-to-hire is 47 days, down from 58 days in Q2.",
                    "Employee referrals produced 31% of hires at the lowest cost per hire.",
                    "Senior backend engineers remain the hardest role to fill; offer acceptance is only 62%.",
                ),
                _s(
                    "Hiring Budget and Risks",
                    "The hiring plan adds $6.4M of annualized payroll, within the approved operating budget.",
                    "If Q4 bookings fall short by more than 10%, the Marketing and G&A requisitions are frozen first.",
                    "Recruiter capacity is the main risk: we will add two contract recruiters for Q1.",
                ),
            ),
        ),
    ),
)

ENERGIE_RENOUVELABLE_FR = DeckSpec(
    filename="energie_renouvelable_fr.pptx",
    language="fr-FR",
    title="Programme Énergies Renouvelables 2025",
    subtitle="Comité de pilotage - Direction des projets",
    topics=(
        TopicSpec(
            name="Ferme solaire en Provence",
            search_phrase="photovoltaïque",
            slides=(
                _s(
                    "Projet de ferme solaire en Provence",
                    "La centrale photovoltaïque de Manosque couvrira 42 hectares de terrains agricoles dégradés.",
                    "La puissance installée prévue est de 38 MWc, soit la consommation d'environ 21 000 foyers.",
                    "Les panneaux bifaciaux sur trackers mono-axe augmentent la production de 9 % par rapport aux structures fixes.",
                    notes="Rappeler que le site est une ancienne carrière : aucune terre agricole productive n'est consommée.",
                ),
                _s(
                    "Calendrier et autorisations",
                    "Le permis de construire a été déposé en mars ; l'enquête publique se termine fin octobre.",
                    "L'étude d'impact environnemental a reçu un avis favorable de l'autorité environnementale.",
                    "Le raccordement au poste source de Sainte-Tulle est prévu pour le deuxième trimestre 2026.",
                ),
                _s(
                    "Biodiversité et intégration paysagère",
                    "Des haies de chênes verts masqueront les rangées de panneaux photovoltaïques depuis la route départementale.",
                    "Un pâturage ovin sous les panneaux entretiendra la végétation sans désherbant.",
                    "Les zones de nidification de l'outarde canepetière restent hors de l'emprise clôturée.",
                    notes="Le bureau d'études naturalistes présentera le suivi faunistique au prochain comité.",
                ),
            ),
        ),
        TopicSpec(
            name="Maintenance des éoliennes",
            search_phrase="maintenance des éoliennes",
            slides=(
                _s(
                    "Maintenance des éoliennes du parc de la Somme",
                    "Les 14 éoliennes de 3,6 MW ont atteint une disponibilité technique de 96,2 % sur l'année.",
                    "Deux multiplicateurs ont été remplacés après la détection de piqûres sur les engrenages.",
                    "L'inspection des pales par drone remplace désormais les inspections sur cordes.",
                    notes="La maintenance des éoliennes est sous-traitée au constructeur jusqu'en 2027, puis internalisée.",
                ),
                _s(
                    "Maintenance prédictive",
                    "Des capteurs de vibrations sur les roulements principaux alimentent le système SCADA en continu.",
                    "Une analyse d'huile trimestrielle détecte l'usure du multiplicateur six mois avant la panne.",
                    "Les arrêts pour maintenance sont planifiés lors des périodes de vent faible, en été.",
                ),
                _s(
                    "Sécurité des interventions en nacelle",
                    "Toute intervention en nacelle se fait en binôme, avec une habilitation au travail en hauteur.",
                    "Les techniciens suivent une formation GWO de sauvetage renouvelée tous les deux ans.",
                    "Aucune intervention n'est autorisée au-delà d'un vent de 12 m/s mesuré au moyeu.",
                ),
            ),
        ),
        TopicSpec(
            name="Budget",
            search_phrase="budget d'investissement",
            slides=(
                _s(
                    "Budget d'investissement 2025",
                    table=_t(
                        ("Poste", "Budget 2025 (k€)", "Engagé (k€)", "Reste à engager (k€)"),
                        ("Ferme solaire de Manosque", "27 400", "9 800", "17 600"),
                        ("Remplacement des multiplicateurs", "1 900", "1 900", "0"),
                        ("Inspection des pales par drone", "320", "140", "180"),
                        ("Études et développement", "1 150", "610", "540"),
                        ("Total", "30 770", "12 450", "18 320"),
                    ),
                    notes="Les montants sont hors taxes. Le budget d'investissement de la ferme solaire inclut le raccordement.",
                ),
                _s(
                    "Financement et recettes",
                    "La ferme solaire a remporté l'appel d'offres de la CRE avec un complément de rémunération sur 20 ans.",
                    "Le financement combine 70 % de dette bancaire et 30 % de fonds propres du groupe.",
                    "Un prêt de la Banque européenne d'investissement couvre la moitié de la dette à taux bonifié.",
                ),
                _s(
                    "Arbitrages budgétaires",
                    "Le repowering du parc de la Somme est reporté à 2027 pour préserver la trésorerie.",
                    "Les économies sur la maintenance prédictive financent l'achat de deux drones d'inspection.",
                    "Le comité doit valider une provision de 5 % pour aléas sur le chantier solaire.",
                    notes="Demander une décision formelle sur la provision pour aléas avant le 15 décembre.",
                ),
            ),
        ),
    ),
)

PRODUKTION_QUALITAET_DE = DeckSpec(
    filename="produktion_qualitaet_de.pptx",
    language="de-DE",
    title="Produktion und Qualität - Werk Regensburg",
    subtitle="Monatsbericht Oktober 2024",
    topics=(
        TopicSpec(
            name="Fertigungsqualität und Ausschussquote",
            search_phrase="Ausschussquote",
            slides=(
                _s(
                    "Fertigungsqualität im Überblick",
                    "Die Ausschussquote sank im Oktober von 3,4 % auf 2,1 % über alle Fertigungslinien.",
                    "Die Reklamationsquote beim Kunden liegt mit 38 ppm erstmals unter dem Zielwert von 50 ppm.",
                    "Die Nacharbeitskosten gingen gegenüber dem Vormonat um 112.000 Euro zurück.",
                    notes="Der Rückgang kommt vor allem aus Linie 3 nach dem Werkzeugwechsel in der Druckgießerei.",
                ),
                _s(
                    "Ausschussquote nach Fertigungslinie",
                    table=_t(
                        ("Linie", "Ausschuss September", "Ausschuss Oktober", "Hauptfehlerursache"),
                        ("Linie 1 - Gehäuse", "2,8 %", "2,5 %", "Maßabweichung Bohrung"),
                        ("Linie 2 - Wellen", "1,9 %", "1,7 %", "Härteprüfung nicht bestanden"),
                        ("Linie 3 - Druckguss", "6,1 %", "2,9 %", "Lunkerbildung"),
                        ("Linie 4 - Montage", "1,2 %", "1,1 %", "Fehlende Dichtung"),
                    ),
                ),
                _s(
                    "Fehlerursachen und Maßnahmen",
                    "Die Lunkerbildung im Druckguss wurde mit einem Ishikawa-Diagramm auf die Formtemperatur zurückgeführt.",
                    "Für jede Kundenreklamation wird innerhalb von 24 Stunden ein 8D-Report eröffnet.",
                    "Werker prüfen das erste Teil nach jedem Rüstvorgang und dokumentieren die Erstteilfreigabe.",
                ),
                _s(
                    "Prüfmittel und Messtechnik",
                    "Die neue Koordinatenmessmaschine verkürzt die Erstmusterprüfung von zwei Tagen auf vier Stunden.",
                    "Alle kritischen Merkmale erreichen einen Prozessfähigkeitsindex Cpk von mindestens 1,33.",
                    "Die Messsystemanalyse für die Bohrungsmessung wird im November wiederholt.",
                    notes="Die Kalibrierintervalle der Lehren werden ab Januar im CAQ-System überwacht.",
                ),
            ),
        ),
        TopicSpec(
            name="Lieferkette",
            search_phrase="Lieferkette",
            slides=(
                _s(
                    "Lieferkette: Lage bei den Zulieferern",
                    "Die Lieferkette für Leistungshalbleiter bleibt angespannt; die Wiederbeschaffungszeit beträgt 26 Wochen.",
                    "Drei von 140 Serienlieferanten sind im Oktober mit Lieferverzug aufgefallen.",
                    "Der Sicherheitsbestand für Steuergeräte wurde von zwei auf vier Wochen erhöht.",
                ),
                _s(
                    "Materialfluss vom Lieferanten zur Linie",
                    group=_g(
                        "Lieferant",
                        "Wareneingang mit Eingangsprüfung",
                        _g("Hochregallager", "Kanban-Supermarkt", caption="Lager"),
                        "Montagelinie",
                        caption="Materialfluss in der Lieferkette",
                    ),
                    notes="Der Kanban-Supermarkt versorgt die Montagelinie im Zwei-Stunden-Takt per Routenzug.",
                ),
                _s(
                    "Risiken in der Lieferkette",
                    "Für alle Einzelquellen mit hohem Umsatzanteil wird bis Mitte 2025 eine Zweitquelle qualifiziert.",
                    "Das Lieferkettensorgfaltspflichtengesetz verlangt eine jährliche Risikoanalyse aller direkten Zulieferer.",
                    "Ein Brand beim Gießereilieferanten in Tschechien hätte die Produktion nach neun Tagen gestoppt.",
                    notes="Die Risikoanalyse nach dem Lieferkettensorgfaltspflichtengesetz liegt beim Einkauf.",
                ),
                _s(
                    "Logistikkennzahlen",
                    "Die Liefertreue unserer Lieferanten lag im Oktober bei 94,5 %, das Ziel ist 97 %.",
                    "Die Sonderfrachtkosten sanken nach der Umstellung auf Abrufaufträge um 38 %.",
                    "Die Lagerreichweite für Rohmaterial beträgt derzeit 17 Arbeitstage.",
                ),
            ),
        ),
        TopicSpec(
            name="Arbeitssicherheit",
            search_phrase="Arbeitssicherheit",
            slides=(
                _s(
                    "Arbeitssicherheit: Unfallstatistik",
                    "Im Oktober gab es einen meldepflichtigen Arbeitsunfall: eine Schnittverletzung beim Entgraten.",
                    "Die Zahl der gemeldeten Beinaheunfälle stieg auf 23, ein Zeichen für eine bessere Meldekultur.",
                    "Die Tausend-Mann-Quote liegt seit Jahresbeginn bei 4,2 und damit unter dem Branchenschnitt.",
                    notes="Der Unfall wurde mit der Berufsgenossenschaft besprochen; das Schneidwerkzeug ist ersetzt.",
                ),
                _s(
                    "Schutzausrüstung und Unterweisungen",
                    "In der Druckgießerei sind Hitzeschutzkleidung, Gesichtsschild und Gehörschutz Pflicht.",
                    "Die jährliche Sicherheitsunterweisung haben 97 % der Beschäftigten abgeschlossen.",
                    "Für den neuen Roboterarbeitsplatz wurde die Gefährdungsbeurteilung überarbeitet.",
                ),
                _s(
                    "Maßnahmenplan Arbeitssicherheit",
                    "Alle Staplerwege in Halle 2 werden bis Dezember mit Schutzgeländern von Fußwegen getrennt.",
                    "Die Fachkraft für Arbeitssicherheit führt wöchentliche Sicherheitsbegehungen mit den Meistern durch.",
                    "Ziel für 2025 ist null meldepflichtige Unfälle in der Montage.",
                ),
            ),
        ),
    ),
)

ML_PLATFORM_ONBOARDING_EN = DeckSpec(
    filename="ml_platform_onboarding_en.pptx",
    language="en-US",
    title="ML Platform Onboarding",
    subtitle="Welcome to the Research Compute team",
    title_notes="This deck is for new engineers in their first week. Every section has a hands-on exercise.",
    topics=(
        TopicSpec(
            name="GPU cluster access",
            search_phrase="GPU quota",
            slides=(
                _s(
                    "Getting Access to the GPU Cluster",
                    "Request an account in the access portal; your manager approves it within one business day.",
                    "Upload an ed25519 SSH key and connect through the bastion host to the login nodes.",
                    "Jobs are submitted with Slurm; never run training directly on a login node.",
                    notes="Show the access portal live and walk through the first sbatch script.",
                ),
                _s(
                    "GPU Quota and Scheduling",
                    "Every team has a weekly GPU quota measured in GPU-hours, shown by the quota command.",
                    "Jobs beyond your GPU quota run in the preemptible partition and can be stopped at any time.",
                    "Fair-share scheduling lowers the priority of teams that used more than their share last week.",
                ),
                _s(
                    "GPU Partitions",
                    table=_t(
                        ("Partition", "GPU type", "Max job time", "Default GPU quota"),
                        ("interactive", "1x A100 40GB", "4 hours", "20 GPU-hours/week"),
                        ("train", "8x H100 80GB", "72 hours", "1,500 GPU-hours/week"),
                        ("preempt", "any idle GPU", "24 hours", "unlimited, preemptible"),
                        ("inference", "2x L40S", "12 hours", "200 GPU-hours/week"),
                    ),
                    notes="To raise a GPU quota, open a capacity request with the expected GPU-hours and deadline.",
                ),
                _s(
                    "Cluster Etiquette",
                    "Close interactive sessions when you are done; idle GPUs are reclaimed after 30 minutes.",
                    "Keep large datasets on the parallel file system, not in your home directory.",
                    "Post planned multi-node jobs of more than 64 GPUs in the cluster channel a day in advance.",
                ),
            ),
        ),
        TopicSpec(
            name="Model training pipeline",
            search_phrase="training pipeline",
            slides=(
                _s(
                    "Model Training Pipeline Overview",
                    group=_g(
                        "Data ingestion",
                        _g(
                            "Feature store",
                            "Distributed training",
                            "Hyperparameter sweep",
                            caption="Training",
                        ),
                        "Evaluation",
                        "Model registry",
                        caption="Stages of the training pipeline",
                    ),
                    notes="Each stage of the training pipeline is a separate job; stages communicate only through versioned artifacts.",
                ),
                _s(
                    "Experiment Tracking and Checkpoints",
                    "Every run of the training pipeline logs parameters, metrics and the git commit to MLflow.",
                    "Checkpoints are written to object storage every 1,000 steps and kept for 30 days.",
                    "A preempted job resumes automatically from its latest checkpoint.",
                ),
                _s(
                    "Evaluation Gates",
                    "A candidate model must match the production model on the held-out benchmark within 0.5 points.",
                    "Regression suites check latency, memory footprint and known failure cases.",
                    "Fairness metrics are reported per language and region for every release candidate.",
                ),
                _s(
                    "Promoting a Model to Production",
                    "Approved models are tagged in the model registry with the dataset version they were trained on.",
                    "A canary deployment serves 5% of traffic for 48 hours before full rollout.",
                    "Rollback to the previous registry version takes a single command.",
                    notes="Promotion needs two approvals: the model owner and an on-call engineer from serving.",
                ),
            ),
        ),
        TopicSpec(
            name="Data privacy rules",
            search_phrase="data privacy",
            slides=(
                _s(
                    "Data Privacy Rules",
                    "Data privacy rules apply to every dataset that contains personal data, including logs.",
                    "Personal data may only be used for training with a documented legal basis under the GDPR.",
                    "Direct identifiers such as names, email addresses and phone numbers are removed before ingestion.",
                ),
                _s(
                    "Data Classification Levels",
                    "Public data can be used freely on any partition of the cluster.",
                    "Internal data stays on company storage and is never copied to laptops.",
                    "Confidential data, such as customer support transcripts, requires a pseudonymization step first.",
                    "Restricted data, such as health information, is only used in the isolated enclave.",
                ),
                _s(
                    "Handling Personal Data in Training Sets",
                    "A data protection impact assessment is required before a new source of personal data is used.",
                    "Raw personal data is deleted after 90 days; only the pseudonymized version is kept.",
                    "Erasure requests are applied to the source data and to the next scheduled retraining.",
                    notes="The data privacy office reviews the assessment; plan for two weeks of lead time.",
                ),
                _s(
                    "Privacy Incident Reporting",
                    "Report a suspected leak of personal data to the data protection officer immediately.",
                    "The company must notify the supervisory authority within 72 hours of becoming aware of a breach.",
                    "Do not try to investigate or delete evidence yourself; preserve logs and access records.",
                ),
            ),
        ),
    ),
)

SAMPLE_DECKS: list[DeckSpec] = [
    QUARTERLY_REVIEW_EN,
    ENERGIE_RENOUVELABLE_FR,
    PRODUKTION_QUALITAET_DE,
    ML_PLATFORM_ONBOARDING_EN,
]


# --------------------------------------------------------------------------- builder

_SLIDE_LEFT = Inches(0.5)
_CONTENT_TOP = Inches(1.7)
_CONTENT_WIDTH = Inches(9.0)
_BOX_HEIGHT = Inches(0.9)
_BOX_GAP = Inches(0.25)


def _add_table(slide, spec: TableSpec) -> None:
    n_rows, n_cols = len(spec.rows) + 1, len(spec.header)
    height = Inches(0.4) * n_rows
    table = slide.shapes.add_table(
        n_rows, n_cols, _SLIDE_LEFT, _CONTENT_TOP, _CONTENT_WIDTH, height
    ).table
    for r, row in enumerate((spec.header, *spec.rows)):
        for c, text in enumerate(row):
            cell = table.cell(r, c)
            cell.text = text
            for paragraph in cell.text_frame.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(14)


def _add_box(shapes, text: str, left: int, top: int, width: int, height: int) -> None:
    box = shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, left, top, width, height)
    box.text_frame.word_wrap = True
    box.text_frame.text = text
    box.text_frame.paragraphs[0].runs[0].font.size = Pt(14)


def _add_caption(shapes, text: str, left: int, top: int, width: int) -> None:
    caption = shapes.add_textbox(left, top, width, Inches(0.4))
    caption.text_frame.text = text
    caption.text_frame.paragraphs[0].runs[0].font.size = Pt(12)
    caption.text_frame.paragraphs[0].runs[0].font.italic = True


def _add_group(shapes, spec: GroupSpec, left: int, top: int, width: int) -> None:
    """Draw `spec` as a group: captions on top, items in a row, nested groups as columns."""
    group = shapes.add_group_shape()
    y = top
    if spec.caption:
        _add_caption(group.shapes, spec.caption, left, y, width)
        y += Inches(0.45)
    n = len(spec.items)
    col_width = Emu(int((width - _BOX_GAP * (n - 1)) / n))
    for i, item in enumerate(spec.items):
        x = Emu(left + i * (col_width + _BOX_GAP))
        if isinstance(item, GroupSpec):
            _add_column_group(group.shapes, item, x, y, col_width)
        else:
            _add_box(group.shapes, item, x, y, col_width, _BOX_HEIGHT)


def _add_column_group(shapes, spec: GroupSpec, left: int, top: int, width: int) -> int:
    """A nested group: its caption, then its items stacked vertically. Returns the next free y."""
    group = shapes.add_group_shape()
    y = top
    if spec.caption:
        _add_caption(group.shapes, spec.caption, left, y, width)
        y += Inches(0.45)
    for item in spec.items:
        if isinstance(item, GroupSpec):
            y = _add_column_group(group.shapes, item, left, y, width)
        else:
            _add_box(group.shapes, item, left, y, width, _BOX_HEIGHT)
            y += _BOX_HEIGHT + _BOX_GAP
    return y


def _add_bullets(slide, bullets: tuple[str, ...]) -> None:
    body = slide.placeholders[1].text_frame
    body.text = bullets[0]
    for bullet in bullets[1:]:
        body.add_paragraph().text = bullet
    for paragraph in body.paragraphs:
        paragraph.runs[0].font.size = Pt(20)


def _add_slide(prs, spec: SlideSpec) -> None:
    layout = _LAYOUT_TITLE_AND_CONTENT if spec.bullets else _LAYOUT_TITLE_ONLY
    slide = prs.slides.add_slide(prs.slide_layouts[layout])
    slide.shapes.title.text = spec.title
    if spec.bullets:
        _add_bullets(slide, spec.bullets)
    if spec.table is not None:
        _add_table(slide, spec.table)
    if spec.group is not None:
        _add_group(slide.shapes, spec.group, _SLIDE_LEFT, _CONTENT_TOP, _CONTENT_WIDTH)
    if spec.notes:
        slide.notes_slide.notes_text_frame.text = spec.notes


def build_deck(spec: DeckSpec):
    """Return a python-pptx Presentation for `spec`, with fixed core properties."""
    prs = Presentation()
    title_slide = prs.slides.add_slide(prs.slide_layouts[_LAYOUT_TITLE])
    title_slide.shapes.title.text = spec.title
    title_slide.placeholders[1].text = spec.subtitle
    if spec.title_notes:
        title_slide.notes_slide.notes_text_frame.text = spec.title_notes
    for topic in spec.topics:
        for slide_spec in topic.slides:
            _add_slide(prs, slide_spec)

    props = prs.core_properties
    props.title = spec.title
    props.subject = ", ".join(t.name for t in spec.topics)
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.language = spec.language
    props.revision = 1
    props.created = FIXED_TIMESTAMP
    props.modified = FIXED_TIMESTAMP
    props.last_printed = FIXED_TIMESTAMP
    return prs


def _normalized_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry timestamps and attributes, keeping entry order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for entry in src.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever platform writes it
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(entry.filename), compresslevel=6)
    return out.getvalue()


def deck_bytes(spec: DeckSpec) -> bytes:
    """The .pptx file for `spec`, byte-identical on every call."""
    buf = io.BytesIO()
    build_deck(spec).save(buf)
    return _normalized_zip(buf.getvalue())


def write_sample_decks(out_dir: Path) -> list[Path]:
    """Write every deck of SAMPLE_DECKS into `out_dir` (created if missing); return the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in SAMPLE_DECKS:
        path = out_dir / spec.filename
        path.write_bytes(deck_bytes(spec))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m osmose_dagster.cli.samples OUT_DIR", file=sys.stderr)
        return 2
    for path in write_sample_decks(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
