"""The decks and judged queries of bench/search_eval.py (its docstring says how they are used).

DECKS: 14 decks written for this eval, each with several topics, in the words of real business
and engineering decks: {key: (cover title, cover subtitle, [(slide title, bullets, notes)])}.
Slide 1 is the cover; the slides below follow it, so the first entry is slide 2. Some decks share
themes on purpose (finance in the all-hands, the board update and the budget; security in the
all-hands and the incident review; support in the launch plan and the support review; people
policies in the all-hands and the HR deck), and each holds rare names (codenames, people, site
codes, ticket ids) found in no other deck.

QUESTIONS: what people ask, in their own words, without the distinctive words of the slide that
answers (bench/search_eval.py flags any question sharing a rare token with its answer). Each is
judged by the slides that answer it, named by (deck key, slide title); a slide title is unique
within its deck.

RARE_NAMES: hand-written rare-name queries, judged by the deck(s) that hold the name.
"""

from __future__ import annotations

Slide = tuple[str, list[str], str]


def S(title: str, *bullets: str, notes: str = "") -> Slide:
    return (title, list(bullets), notes)


DECKS: dict[str, tuple[str, str, list[Slide]]] = {
    "allhands": (
        "Company All-Hands: Q3 FY25",
        "Hosted by Maren Okafor, CEO. The recording will be on the intranet.",
        [
            S(
                "Agenda",
                "Welcome and highlights of the quarter",
                "Finance: where we landed and the outlook",
                "People: hiring, attrition and the engagement survey",
                "Security: what every employee must do before December",
                "Benefits update, then open Q&A",
            ),
            S(
                "Q3 highlights",
                "Closed the Telluride Logistics contract, our largest deal to date",
                "Shipped the Atlas reporting module to every customer",
                "Net promoter score up 6 points to 47",
                "Two new offices opened in Lisbon and Toronto",
            ),
            S(
                "Finance: revenue and margin",
                "Q3 revenue $51.7M, up 21% year over year",
                "Subscription share of revenue reached 86%",
                "Gross margin 74%, one point below plan because of hosting costs",
                "Services revenue flat as partners took over implementations",
            ),
            S(
                "Finance: spending and cash",
                "Operating expenses grew 9%, slower than revenue",
                "Travel and events spend cut by a third against Q2",
                "Cash balance of $131M, with no debt drawn",
                "Free cash flow positive for the second quarter in a row",
            ),
            S(
                "Finance: full-year outlook",
                "Full-year revenue guidance raised to $188-192M",
                "Hiring budget held flat for Q4",
                "Bonus pool funded at 100% if Q4 lands on plan",
                "CFO Dariusz Wendt takes questions in the finance AMA on Thursday",
            ),
            S(
                "People: hiring",
                "212 people joined in Q3, 64% of them in engineering and product",
                "Median days to close a requisition down from 52 to 41",
                "38 requisitions remain open, mostly senior backend roles",
                "Interview training is now required before joining a hiring panel",
            ),
            S(
                "People: attrition",
                "Voluntary attrition rose to 14% in EMEA, against 9% company-wide",
                "Exit interviews cite compensation and unclear career paths",
                "A salary benchmark refresh for EMEA engineering lands in November",
                "Managers get a stay-interview guide next month",
            ),
            S(
                "People: engagement survey",
                "82% response rate, the highest so far",
                "Lowest scores: cross-team decision making and meeting load",
                "Highest scores: manager support and flexibility",
                "Each department presents two actions by the end of October",
            ),
            S(
                "Security: phishing results",
                "The September phishing simulation was clicked by 11% of staff",
                "Finance and sales were the teams most often targeted by real attacks",
                "Report suspicious emails with the Report button in Outlook",
                "Repeat clickers take a short refresher course",
            ),
            S(
                "Security: MFA and devices",
                "Hardware security keys are mandatory for all staff from 1 December",
                "Laptops without full-disk encryption lose VPN access",
                "Password manager licences are available to everyone through the IT portal",
                "Lost or stolen devices must be reported to the service desk within one hour",
            ),
            S(
                "Security: travel",
                "Loaner laptops for trips to high-risk countries",
                "Never join hotel Wi-Fi without the VPN",
                "Border device searches: log out of company accounts before you travel",
            ),
            S(
                "Benefits update",
                "Parental leave extended to 20 weeks for all parents",
                "Learning budget of $1,500 per person per year",
                "The wellness stipend now covers gyms, therapy apps and childcare apps",
            ),
            S(
                "Q&A",
                "Submit questions on Slido with the code ALLHANDS-Q3",
                "Unanswered questions get a reply in #ask-leadership within a week",
            ),
        ],
    ),
    "sre": (
        "Site Reliability Review: Q3",
        "Platform Engineering, prepared by Ilse Varga",
        [
            S(
                "Reliability at a glance",
                "Availability 99.93% against a 99.95% objective",
                "7 customer-facing incidents, 2 of them severity one",
                "The API's error budget was exhausted in week 34",
                "Change failure rate 12%, down from 17%",
            ),
            S(
                "Incident INC-4471: primary database failover",
                "14 Aug: 47 minutes of write errors in eu-west",
                "Replica lag hid a stuck failover; the orchestrator waited on a lock",
                "Fix: failover runbook automated, lag alert threshold lowered to 5 s",
                "Follow-up owner: Tomasz Rybak",
            ),
            S(
                "Incident INC-4502: DNS resolution outage",
                "An expired certificate on the internal resolver cluster",
                "Service discovery failed for 22 minutes across all regions",
                "Certificate expiry is now monitored 30 days ahead",
                "A second resolver vendor is under evaluation",
            ),
            S(
                "Incident INC-4519: queue backlog",
                "A bulk import from one tenant filled the ingestion queue",
                "Webhooks were delayed up to 3 hours for other customers",
                "Per-tenant rate limits shipped on 2 September",
            ),
            S(
                "Incident trends",
                "Configuration changes caused 4 of the 7 incidents",
                "Median time to detect 6 minutes, to mitigate 38 minutes",
                "Postmortems published within 5 working days for every sev-1",
            ),
            S(
                "Capacity: compute",
                "Kubernetes clusters run at 61% of requested CPU",
                "Black Friday peak expected at 2.4x normal traffic",
                "Reserved instances cover 70% of the baseline; the rest runs on demand",
                "Autoscaler maximum raised from 400 to 650 nodes before November",
            ),
            S(
                "Capacity: storage",
                "Object storage grows 9 TB per week",
                "Primary Postgres cluster at 78% disk, about 10 weeks of runway",
                "Sharding of the events table, project Cormorant, starts in October",
                "Log retention cut from 30 to 14 days to slow growth",
            ),
            S(
                "Capacity: cost",
                "Cloud bill of $2.1M per month, 8% over budget",
                "Largest driver: cross-zone data transfer",
                "Savings plan renewal negotiated at a 22% discount",
            ),
            S(
                "On-call: load",
                "1,140 pages this quarter, 38% of them outside business hours",
                "Noisiest alert: disk usage warnings on build runners",
                "41% of pages needed no action and will be removed or tuned",
            ),
            S(
                "On-call: people",
                "Two engineers reported burnout in the health survey",
                "Rotations grow from 6 to 9 people per team",
                "Follow-the-sun handover between Dublin and Sydney from January",
                "On-call allowance raised to $400 per week",
            ),
            S(
                "SLOs and error budgets",
                "Every tier-one service now has a published SLO",
                "Feature freeze when a service spends its monthly error budget",
                "Latency SLO for search: 95% of queries under 300 ms",
            ),
            S(
                "Next quarter priorities",
                "Finish project Cormorant",
                "Monthly chaos game days, starting with the payments service",
                "Retire the legacy Nagios checks",
            ),
        ],
    ),
    "launch": (
        "Launch Plan: Beacon Insights 2.0",
        "Go-to-market review, Product Marketing, codename Quillfeather",
        [
            S(
                "Launch timeline",
                "Private beta with 40 customers closes on 15 October",
                "General availability on 12 November",
                "The press embargo lifts at 09:00 Eastern on launch day",
                "Launch webinar hosted by Priya Raman",
            ),
            S(
                "What's new in 2.0",
                "Natural-language questions over dashboards",
                "Scheduled PDF reports with custom branding",
                "Row-level permissions for shared workspaces",
                "3x faster queries on the new columnar engine",
            ),
            S(
                "Pricing: tiers",
                "Starter: $12 per user per month, up to 10 users",
                "Team: $29 per user per month, with scheduled reports",
                "Enterprise: priced per deal, includes SSO and the audit log",
                "Annual plans get two months free",
            ),
            S(
                "Pricing: existing customers",
                "Current customers keep their price for 12 months",
                "The legacy Pro plan maps to Team with no feature loss",
                "Price increase notices go out 60 days before renewal",
            ),
            S(
                "Pricing: competitive position",
                "15-20% below Lumetric on the Team tier",
                "The only vendor with natural-language queries in the entry tier",
                "Discounts above 25% need approval from the VP of Sales",
            ),
            S(
                "Roadmap: next two quarters",
                "Q1: mobile dashboards and offline viewing",
                "Q1: connectors for Snowflake and BigQuery",
                "Q2: anomaly alerts by email and Slack",
                "Q2: an embedded analytics SDK for partners",
            ),
            S(
                "Roadmap: not planned",
                "On-premise deployment stays out of scope",
                "No custom visualisation plugins this year",
            ),
            S(
                "Support readiness",
                "120 help-centre articles updated for 2.0",
                "Support agents complete a 4-hour certification before launch",
                "The launch war room is staffed 07:00-22:00 for the first week",
                "A known issues page is published on the status site",
            ),
            S(
                "Support: escalation path",
                "Tier 1 handles how-to and billing questions",
                "Tier 2 handles data connector failures",
                "Engineering on-call only for outages and data loss",
                "Target first reply within 2 hours for Enterprise",
            ),
            S(
                "Launch risks",
                "The columnar engine migration is unfinished for 6% of accounts",
                "The Japanese translation of the UI slips to December",
                "Sales enablement attendance at 58% so far",
            ),
            S(
                "Success metrics",
                "1,500 trials started in the first 30 days",
                "Trial-to-paid conversion of 18%",
                "Fewer than 50 support tickets about the upgrade",
            ),
        ],
    ),
    "mlplatform": (
        "ML Platform: State of the Lab",
        "Research Infrastructure, H2 planning, presented by Kavya Iyer",
        [
            S(
                "Compute: the Heronsgate cluster",
                "256 GPUs in 32 nodes, InfiniBand between all nodes",
                "Utilisation averaged 71% in Q3",
                "A second hall, HGT-2, adds 128 GPUs in February",
            ),
            S(
                "Compute: scheduling changes",
                "Slurm is replaced by a Kubernetes batch scheduler in January",
                "Team reservations replace the first-come queue",
                "Jobs longer than 48 hours must save state every 2 hours",
            ),
            S(
                "Training stack",
                "Standard container images with pinned CUDA and PyTorch versions",
                "Mixed-precision training on by default",
                "A distributed training template for multi-node runs",
            ),
            S(
                "Data: feature store",
                "Features are defined once and served to training and inference alike",
                "340 features registered, 60 of them used in production",
                "Point-in-time joins prevent leakage of future data into training sets",
            ),
            S(
                "Data: labelling",
                "The vendor Northwind Annotate handles image and text labelling",
                "Quality audits sample 5% of every batch",
                "Turnaround for 10,000 items is 6 working days",
            ),
            S(
                "Model registry",
                "Every production model has an owner, a model card and a lineage record",
                "Deployment to production needs sign-off from two reviewers",
                "Rollback to the previous version in one click",
            ),
            S(
                "Evaluation",
                "The offline evaluation suite runs nightly on frozen test sets",
                "Bias checks across age, gender and region for customer-facing models",
                "Regression gate: no metric may drop more than 1% relative",
            ),
            S(
                "Serving",
                "p99 inference latency under 120 ms for ranking models",
                "Autoscaling on queue depth, not CPU",
                "Shadow traffic for new models before switching",
            ),
            S(
                "Costs: chargeback",
                "GPU hours charged back to teams from Q1 at an internal rate of $1.80 per hour",
                "Idle reservations charged at half rate",
                "A monthly cost report per project in the finance dashboard",
            ),
            S(
                "Costs: savings",
                "Spot capacity for hyperparameter sweeps saved $310k",
                "Distillation cut the serving fleet by 40%",
            ),
            S(
                "Hiring for the platform team",
                "Four openings: two infrastructure, one MLOps, one data engineer",
                "The interview loop includes a systems design exercise",
            ),
        ],
    ),
    "compliance": (
        "Legal and Compliance Update 2025",
        "Mandatory annual briefing, Office of the General Counsel, Helena Strauss",
        [
            S(
                "Why this matters",
                "Regulators fined three companies in our sector last year",
                "Completion of this briefing is tracked for every employee",
                "Deadline: 30 November",
            ),
            S(
                "Personal data: requests from individuals",
                "Customers may ask for a copy of their data, a correction or erasure",
                "Forward every such request to the privacy mailbox within 24 hours",
                "We must answer within one month; the clock starts on receipt",
            ),
            S(
                "Personal data: retention",
                "Support call recordings are deleted after 90 days",
                "Candidate CVs are kept 6 months unless the applicant agrees to longer",
                "Contract records are kept 10 years for tax purposes",
            ),
            S(
                "Personal data: transfers",
                "New vendors outside the EEA need standard contractual clauses",
                "Transfer impact assessments are reviewed by legal before signature",
                "Tracker LC-TIA-118 lists the open assessments",
            ),
            S(
                "Gifts and hospitality",
                "Gifts worth more than €100 must be declared in the register",
                "Never accept cash or vouchers",
                "Hospitality for public officials needs approval from compliance first",
            ),
            S(
                "Anti-bribery",
                "Facilitation payments are banned in every country, even where customary",
                "Agents and resellers complete due diligence before their first deal",
                "Red flags: unusual commissions, requests to pay a third party, offshore accounts",
            ),
            S(
                "Speaking up",
                "Report concerns through the ethics line, anonymously if you wish",
                "Retaliation against a reporter is a dismissal offence",
                "23 reports received this year, 19 closed",
            ),
            S(
                "Export controls",
                "Encryption features are classified under category 5 part 2",
                "No sales to embargoed countries or listed parties",
                "Screening runs automatically on every new account",
            ),
            S(
                "Competition law",
                "Never discuss prices or bids with competitors, including at trade fairs",
                "If the topic comes up, leave the meeting and tell legal",
            ),
            S(
                "Contracts: who may sign",
                "The signature authority matrix was updated in September",
                "Contracts above €250k need both the CFO and the General Counsel",
            ),
        ],
    ),
    "officemove": (
        "Moving to Riverside Place",
        "Facilities and Workplace, office move programme, site code LDN-RVP",
        [
            S(
                "Why we are moving",
                "The Farringdon lease ends in June",
                "40% more space for the same rent per head",
                "Better transport links and step-free access",
            ),
            S(
                "Timeline",
                "Fit-out starts in February",
                "Teams move in three waves over April and May",
                "The old office closes on 30 June",
            ),
            S(
                "Move waves",
                "Wave 1: finance, legal and people teams",
                "Wave 2: sales and marketing",
                "Wave 3: engineering and support",
                "Pack your desk by the Thursday of your wave; crates arrive the Monday before",
            ),
            S(
                "Floor plan",
                "Floors 4 to 6, with a quiet zone on floor 6",
                "38 meeting rooms and 12 phone booths",
                "Kitchen and event space on floor 4",
            ),
            S(
                "Desk booking",
                "Hot desks are booked in the Deskly app",
                "Team neighbourhoods reserved on anchor days",
                "Lockers for everyone, assigned on arrival",
            ),
            S(
                "Getting there",
                "Two minutes from the Overground station",
                "Secure storage for 150 bikes, with showers",
                "No car parking except 4 accessible bays",
            ),
            S(
                "Accessibility",
                "Step-free entrance and lifts to every floor",
                "Hearing loops in all large meeting rooms",
                "Personal evacuation plans arranged with the facilities team",
            ),
            S(
                "IT cutover",
                "The network goes live two weeks before wave 1",
                "Printers use badge release; no desk printers",
                "Video kits in every meeting room; test calls during the open day",
            ),
            S(
                "Open day",
                "Visits on 14 March, with tours every hour",
                "Meet the facilities team and ask your questions",
            ),
            S(
                "Contacts",
                "Move coordinator: Beatrix Lindqvist",
                "Report problems on the facilities portal under 'Move'",
            ),
        ],
    ),
    "support": (
        "Customer Support Operations: H1 Review",
        "Support and Success, presented by Omar Haddad",
        [
            S(
                "Volume",
                "48,300 conversations in H1, up 17%",
                "Billing questions 29%, login problems 18%",
                "Volume peaks on Monday mornings",
            ),
            S(
                "Speed",
                "Median first reply 38 minutes on email, 45 seconds on chat",
                "81% of cases resolved within one business day",
                "The weekend backlog is cleared by Monday noon",
            ),
            S(
                "Quality",
                "CSAT 91%, unchanged",
                "Lowest ratings on refund requests",
                "Quality reviewers score 5 conversations per agent per week",
            ),
            S(
                "Virtual agent",
                "The assistant Pico answers 34% of chats without a human",
                "Wrong answers flagged by customers are reviewed every day",
                "A human handoff is offered after two failed attempts",
            ),
            S(
                "Help centre",
                "620 articles, 92 of them rewritten this half",
                "Most viewed: resetting two-factor authentication",
                "Articles without views for a year are archived",
            ),
            S(
                "Staffing",
                "74 agents across Manila, Krakow and Austin",
                "Seasonal contractors cover the January renewal peak",
                "Agent turnover 27% annualised, highest in Manila",
            ),
            S(
                "Agent experience",
                "New macros cut handling time by 90 seconds",
                "Career ladder: agent, senior agent, specialist, team lead",
                "Monthly coaching sessions with quality reviewers",
            ),
            S(
                "Top customer pain points",
                "Invoices in the wrong currency after plan changes",
                "CSV exports time out on large workspaces",
                "Confusing seat counts on the billing page",
            ),
            S(
                "Plan for H2",
                "Phone support for Enterprise from October",
                "Spanish and Portuguese chat coverage",
                "Reduce billing contacts by 25% with product fixes",
            ),
        ],
    ),
    "sales": (
        "Sales Kickoff FY26",
        "Win the mid-market. Revenue Organisation, Lisbon, 14-16 January",
        [
            S(
                "FY25 in review",
                "Bookings of $74M, 104% of target",
                "Win rate 27%, against 23% the year before",
                "Average deal size $38k, up from $31k",
            ),
            S(
                "FY26 targets",
                "New bookings target of $92M",
                "Mid-market accounts to bring 45% of new bookings",
                "Expansion revenue from existing customers: $30M",
            ),
            S(
                "Territories",
                "North America split into five regions instead of three",
                "DACH and the Nordics get dedicated teams",
                "Public sector moves to a specialist team under Grace Achebe",
            ),
            S(
                "Quota and ramp",
                "Quota for a mid-market account executive: $780k",
                "New hires ramp over 4 months with a reduced quota",
                "Quota relief for deals lost to approved territory changes",
            ),
            S(
                "Compensation plan",
                "Commission accelerators start at 100% attainment",
                "Multi-year deals pay commission on the first year only",
                "Clawback if a customer cancels within 90 days",
            ),
            S(
                "Partners",
                "Resellers get a 20% margin, 30% on deals they source",
                "Partner portal with deal registration from February",
                "Three system integrators certified: Brightwater, Kesselring and Nakamura Digital",
            ),
            S(
                "Competition: Lumetric",
                "Strong in banking, weak in self-service",
                "They discount heavily at quarter end",
                "Our edge: set up in days, not months",
            ),
            S(
                "Competition: in-house builds",
                "Prospects who build their own dashboards underestimate maintenance",
                "Use the total cost calculator in the sales toolkit",
            ),
            S(
                "Pipeline hygiene",
                "Opportunities without activity for 30 days are flagged",
                "Close dates must be updated every Friday",
                "Forecast call every Monday at 16:00",
            ),
            S(
                "Awards",
                "President's Club trip to Madeira for the top 20 sellers",
                "Rookie of the year: Tobias Lindgren",
            ),
        ],
    ),
    "dataplatform": (
        "Data Platform Migration",
        "From the legacy warehouse to the lakehouse. Data Engineering, programme Kittiwake",
        [
            S(
                "Why migrate",
                "Nightly loads take 7 hours and often miss the 8am deadline",
                "Renewing the warehouse licence would cost $1.2M",
                "Data scientists copy tables to laptops for lack of compute",
            ),
            S(
                "Target architecture",
                "An open table format on object storage",
                "Batch and streaming ingestion into one bronze, silver and gold layout",
                "One catalogue for permissions and lineage",
            ),
            S(
                "Migration plan",
                "Phase 1: finance and sales marts by March",
                "Phase 2: product analytics by June",
                "Phase 3: decommission the old warehouse in September",
            ),
            S(
                "Transformations",
                "All models rewritten in dbt, with tests",
                "Code review required for changes to gold tables",
                "CI builds a sample of each model on every pull request",
            ),
            S(
                "Data quality",
                "Freshness, volume and schema checks on every source",
                "Failed checks page the owning team, not the platform team",
                "A quality score per dataset is shown in the catalogue",
            ),
            S(
                "Access and privacy",
                "Personal columns are masked by default",
                "Access requests approved by data owners within 2 days",
                "Audit log of every query against sensitive tables",
            ),
            S(
                "Costs",
                "Compute billed per query, with budgets per team",
                "Expected run cost $640k a year, half of today",
                "Idle clusters shut down after 15 minutes",
            ),
            S(
                "What changes for analysts",
                "Dashboards are repointed by the BI team; no action needed",
                "SQL dialect differences are listed in the migration guide",
                "Office hours every Wednesday with Sunita Bhatt",
            ),
            S(
                "Risks",
                "The finance month-end close must not break during phase 1",
                "Two legacy reports use stored procedures with no owner",
                "A parallel run of four weeks per phase",
            ),
        ],
    ),
    "board": (
        "Board of Directors: H1 Update",
        "Confidential. Prepared for the July board meeting",
        [
            S(
                "H1 financial summary",
                "ARR $176M, growth 24%",
                "Net revenue retention 117%",
                "Operating margin -4%, up 6 points year over year",
            ),
            S(
                "Unit economics",
                "Customer acquisition cost payback in 19 months",
                "Lifetime value to acquisition cost ratio of 4.1x",
                "Gross churn 7% annualised",
            ),
            S(
                "Strategic options: Project Heron",
                "Acquisition target in workflow automation, 60 employees",
                "Indicative price 5-6x ARR",
                "Due diligence complete by September; decision at the October meeting",
            ),
            S(
                "Strategic options: international",
                "Japan entry through a distribution partner in 2026",
                "Local data residency is required for the public sector in Germany",
            ),
            S(
                "Capital",
                "$212M in cash and investments",
                "An undrawn credit facility of $50M",
                "No new equity raise planned before profitability",
            ),
            S(
                "Risk register",
                "Top risk: dependence on a single cloud provider",
                "Key-person risk in the CTO office",
                "Cyber insurance premiums up 35%",
            ),
            S(
                "People and governance",
                "The executive team is complete after the CRO hire",
                "New independent director nominated: Dr. Amara Nwosu",
                "The audit committee reviewed the SOC 2 report",
            ),
            S(
                "Go-to-market efficiency",
                "Sales and marketing spend at 41% of revenue, down from 48%",
                "Self-serve sign-ups now bring 22% of new customers",
                "Top ten customers make up 18% of ARR",
            ),
            S(
                "Product milestones",
                "The natural-language query feature reached general availability",
                "The second data region in Frankfurt opened in May",
                "Uptime of 99.96% across the half",
            ),
            S(
                "Asks of the board",
                "Approve the H2 budget",
                "Approve due diligence spending of $1.5M for Project Heron",
                "Approve the updated equity plan",
            ),
        ],
    ),
    "secreview": (
        "Security Incident Review: SEC-2291",
        "Credential stuffing against the customer login. Security Engineering, TLP:AMBER",
        [
            S(
                "Summary",
                "On 3 March attackers tried 2.1 million stolen username and password pairs",
                "1,860 accounts were accessed before the block",
                "No evidence of access to payment data",
            ),
            S(
                "Timeline",
                "02:14 UTC: a spike in failed logins detected by the anomaly rule",
                "02:40: on-call security engineer Rui Carvalho paged",
                "03:25: bot protection switched to challenge mode",
                "06:10: forced password resets for the affected accounts",
            ),
            S(
                "Impact",
                "Affected customers could see names, addresses and order history",
                "212 accounts had saved addresses changed by the attacker",
                "Two enterprise customers asked for a formal report",
            ),
            S(
                "Root cause",
                "The login endpoint had rate limits per IP only, not per account",
                "Attackers rotated through 40,000 residential proxies",
                "The breached-password check existed but was off for the mobile API",
            ),
            S(
                "What went well",
                "Detection within 10 minutes",
                "Customer messaging approved within 4 hours",
            ),
            S(
                "What went badly",
                "Bot protection rules needed a deploy to change",
                "Support had no script for the first 6 hours",
            ),
            S(
                "Detection details",
                "The anomaly rule compares failed logins per minute with a seven-day baseline",
                "Logins came from 31 countries within the first hour",
                "The attack stopped at 07:30 once every login met a challenge",
            ),
            S(
                "Open questions",
                "Whether the credential list came from the Hollowbrook forum dump",
                "How long to keep the device fingerprints we now collect",
                "Whether to require passkeys for admin users of enterprise accounts",
            ),
            S(
                "Remediation",
                "Per-account throttling and device fingerprinting",
                "The breached-password check on every login path",
                "Passkeys offered to all customers by Q3",
            ),
            S(
                "Notification",
                "Regulators notified within 72 hours in the EU and the UK",
                "Affected users emailed with reset instructions",
                "An FAQ for support agents",
            ),
        ],
    ),
    "plant": (
        "Plant Operations Review: Monterrey MTY-3",
        "Monthly operations review, plant manager Rosa Elizondo",
        [
            S(
                "Output",
                "41,200 units shipped, 96% of plan",
                "Overall equipment effectiveness 72% on line 2, 64% on line 4",
                "Changeover time on line 4 averages 95 minutes",
            ),
            S(
                "Quality",
                "First-pass yield 93.5%",
                "Scrap cost $186k, mostly cracked housings from the moulding press",
                "Customer complaints: 4, all cosmetic",
            ),
            S(
                "Safety",
                "1 lost-time injury: a forklift struck a racking upright",
                "14 near misses reported, up from 6, thanks to the new app",
                "Lockout-tagout refresher completed by 97% of technicians",
            ),
            S(
                "Maintenance",
                "Press P-17: hydraulic pump replaced after repeated pressure drops",
                "Planned maintenance compliance 88%",
                "Vibration sensors on all compressors from next month",
            ),
            S(
                "Workforce",
                "Overtime at 11% of hours, above the 8% limit",
                "A third shift on line 2 staffed from August",
                "Absenteeism 4.2%",
            ),
            S(
                "Suppliers",
                "The resin supplier delivered late 5 times; a second source is in trial",
                "Inbound freight from Texas delayed at the border crossing",
                "Steel inserts are now kitted by the supplier",
            ),
            S(
                "Energy",
                "Electricity cost up 14% with the new tariff",
                "A compressed air survey found 63 leaks",
                "A solar canopy over the car park is approved",
            ),
            S(
                "Customer deliveries",
                "On-time delivery to customers 94%, target 98%",
                "Two expedited air shipments to the Saltillo assembly plant",
                "Packaging damage claims down to one this month",
            ),
            S(
                "Improvement ideas",
                "57 ideas submitted by operators, 21 implemented",
                "Best idea: a gauge holder that saves 4 minutes per inspection",
                "Winners receive a team lunch and a plaque on the shop floor",
            ),
            S(
                "Actions",
                "SMED workshop on line 4 to cut changeovers",
                "Mould temperature control upgrade",
                "Pedestrian walkways repainted and separated from forklift lanes",
            ),
        ],
    ),
    "hr": (
        "People Policies 2025",
        "What changes on 1 January. People team, policy owner Nadia Brennan",
        [
            S(
                "Hybrid work",
                "Three office days a week for teams within 50 km of an office",
                "Fully remote roles are approved by the VP of the function",
                "Working from another country: up to 20 days a year",
            ),
            S(
                "Working abroad",
                "Longer stays need a tax and immigration review",
                "Apply at least 4 weeks before travel with the Globetrotter form",
            ),
            S(
                "Leave",
                "25 days of holiday plus public holidays",
                "Parental leave: 20 weeks at full pay for all parents",
                "Two paid volunteering days",
            ),
            S(
                "Sickness",
                "Self-certify up to 5 days; a doctor's note after that",
                "Phased return after a long illness, agreed with occupational health",
            ),
            S(
                "Performance reviews",
                "Reviews twice a year, in March and September",
                "Ratings on a 4-point scale, with no forced distribution",
                "Calibration sessions across teams before ratings are shared",
            ),
            S(
                "Pay",
                "Salary bands published internally for every level",
                "The annual pay review is effective on 1 April",
                "Equity refresh grants for top ratings",
            ),
            S(
                "Promotions",
                "Managers submit promotion cases in each review cycle",
                "The promotion committee includes a peer from another department",
            ),
            S(
                "Learning",
                "$1,500 per person per year; unused budget does not roll over",
                "LinkedIn Learning and O'Reilly licences for everyone",
                "The mentoring programme matches 120 pairs a year",
            ),
            S(
                "Questions",
                "The policy handbook is on the intranet",
                "Ask the People team in #people-help",
            ),
        ],
    ),
    "budget": (
        "FY26 Budget Planning",
        "Finance. Budget kickoff for department heads, owner Callum Fraser",
        [
            S(
                "Planning calendar",
                "Department drafts due on 15 September",
                "Review meetings with the CFO in the first two weeks of October",
                "Board approval in December",
            ),
            S(
                "Guidelines",
                "Opex growth capped at 8% per department",
                "Every new role needs a business case",
                "Zero-based review of software subscriptions",
            ),
            S(
                "Headcount plan",
                "180 net new roles company-wide",
                "60% of new roles in lower-cost locations",
                "Backfills approved automatically for critical roles",
            ),
            S(
                "Software spend",
                "412 SaaS tools in use, 96 of them with fewer than 5 users",
                "Consolidate project-management tools onto one",
                "Renewals over $50k are reviewed by procurement",
            ),
            S(
                "Cloud spend",
                "Cloud budget set per product team, with monthly alerts",
                "Target: 15% saving through commitments and rightsizing",
            ),
            S(
                "Travel and events",
                "Travel budget per head flat at $3,200",
                "Customer-facing travel has priority over internal meetings",
                "Conference attendance limited to speakers and booth staff",
            ),
            S(
                "Marketing budget",
                "Paid search spend cut by 20% in favour of partner events",
                "Brand refresh funded once, not repeated in FY27",
                "Field marketing budgets follow the new sales territories",
            ),
            S(
                "Contingency",
                "A central reserve of 3% of opex held by the CFO",
                "Hiring paused automatically if bookings miss plan for two quarters",
                "Currency risk hedged for the euro and sterling",
            ),
            S(
                "Capital expenditure",
                "Laptop refresh every 4 years instead of 3",
                "Fit-out of the new London building",
                "Data centre exit: no new hardware purchases",
            ),
            S(
                "Template walkthrough",
                "One tab per cost centre",
                "Link each line to a vendor or a role",
                "Comments required for anything over 10% growth",
            ),
        ],
    ),
}

# (question, (deck key, slide title), ...): every listed slide answers the question.
QUESTIONS: list[tuple] = [
    # allhands
    ("are more people quitting in Europe than elsewhere", ("allhands", "People: attrition")),
    (
        "is the company generating cash now or still burning it",
        ("allhands", "Finance: spending and cash"),
    ),
    (
        "is the end-of-year incentive payout going to be paid in full",
        ("allhands", "Finance: full-year outlook"),
    ),
    (
        "which teams are fraudsters going after",
        ("allhands", "Security: phishing results"),
    ),
    (
        "what should I do if my work computer goes missing",
        ("allhands", "Security: MFA and devices"),
    ),
    (
        "how many people did we recruit last quarter",
        ("allhands", "People: hiring"),
    ),
    (
        "what did staff complain about in the employee opinion poll",
        ("allhands", "People: engagement survey"),
    ),
    (
        "how long can new mothers and fathers stay home with a baby",
        ("allhands", "Benefits update"),
        ("hr", "Leave"),
    ),
    # sre
    (
        "why did saving data fail for European customers in August",
        ("sre", "Incident INC-4471: primary database failover"),
    ),
    ("how often do alerts wake engineers up at night", ("sre", "On-call: load")),
    (
        "how long until the main relational store fills up",
        ("sre", "Capacity: storage"),
    ),
    (
        "what are we doing so the people carrying the pager don't get exhausted",
        ("sre", "On-call: people"),
    ),
    ("why are we paying more for hosting than we planned", ("sre", "Capacity: cost")),
    (
        "what broke name lookups between our services everywhere",
        ("sre", "Incident INC-4502: DNS resolution outage"),
    ),
    (
        "can one big client slow down everyone else's notifications",
        ("sre", "Incident INC-4519: queue backlog"),
    ),
    ("will we have enough machines for the holiday shopping rush", ("sre", "Capacity: compute")),
    # launch
    ("how much does the cheapest plan cost per person", ("launch", "Pricing: tiers")),
    ("will people already subscribed suddenly pay more", ("launch", "Pricing: existing customers")),
    ("can the product be installed in our own server room", ("launch", "Roadmap: not planned")),
    (
        "how much cheaper than the main competitor is the new version",
        ("launch", "Pricing: competitive position"),
        ("sales", "Competition: Lumetric"),
    ),
    ("when can anyone buy the new version", ("launch", "Launch timeline")),
    (
        "who deals with it when a customer's data connection stops working",
        ("launch", "Support: escalation path"),
    ),
    ("what could still go wrong before the release", ("launch", "Launch risks")),
    ("how will we know if the release went well", ("launch", "Success metrics")),
    # mlplatform
    (
        "will my group be billed for the accelerator time it uses",
        ("mlplatform", "Costs: chargeback"),
    ),
    (
        "how do we check that predictions are not unfair to women or older people",
        ("mlplatform", "Evaluation"),
    ),
    ("who tags the pictures used to teach our models", ("mlplatform", "Data: labelling")),
    (
        "when is the lab getting more hardware for deep learning",
        ("mlplatform", "Compute: the Heronsgate cluster"),
    ),
    ("how fast are predictions returned in production", ("mlplatform", "Serving")),
    (
        "how do we stop tomorrow's values sneaking into the examples a model learns from",
        ("mlplatform", "Data: feature store"),
    ),
    (
        "what happens to very long jobs under the new queueing system",
        ("mlplatform", "Compute: scheduling changes"),
    ),
    # compliance
    (
        "can I keep a present a supplier gave me",
        ("compliance", "Gifts and hospitality"),
    ),
    (
        "a client wants everything we hold about them wiped, what do I do",
        ("compliance", "Personal data: requests from individuals"),
    ),
    ("how long do we keep job applicants' resumes", ("compliance", "Personal data: retention")),
    ("can I raise a worry without giving my name", ("compliance", "Speaking up")),
    (
        "what should I do when a rival raises pricing at a conference",
        ("compliance", "Competition law"),
    ),
    (
        "which executives must approve a very large customer agreement",
        ("compliance", "Contracts: who may sign"),
    ),
    (
        "is it ok to tip a customs official to speed things up",
        ("compliance", "Anti-bribery"),
    ),
    # officemove
    ("can I drive to the new building and park", ("officemove", "Getting there")),
    (
        "when does my department relocate",
        ("officemove", "Move waves"),
        ("officemove", "Timeline"),
    ),
    (
        "is the new place usable for someone in a wheelchair",
        ("officemove", "Accessibility"),
        ("officemove", "Why we are moving"),
    ),
    ("how do I reserve somewhere to sit", ("officemove", "Desk booking")),
    ("where can I make a private call", ("officemove", "Floor plan")),
    ("how will printing work after we relocate", ("officemove", "IT cutover")),
    ("what is the reason for leaving the current building", ("officemove", "Why we are moving")),
    # support
    (
        "how much of the chat traffic does the bot deal with by itself",
        ("support", "Virtual agent"),
    ),
    ("are lots of our helpdesk staff leaving", ("support", "Staffing")),
    (
        "what do clients find most frustrating about their bills",
        ("support", "Top customer pain points"),
    ),
    ("will enterprise customers be able to call us", ("support", "Plan for H2")),
    ("which how-to guides do customers look at more than any other", ("support", "Help centre")),
    ("what kind of requests leave customers least happy", ("support", "Quality")),
    # sales
    (
        "how much does each rep selling to mid-sized companies need to close this year",
        ("sales", "Quota and ramp"),
    ),
    (
        "do salespeople lose their bonus when the client leaves soon after signing",
        ("sales", "Compensation plan"),
    ),
    ("what cut do channel firms get", ("sales", "Partners")),
    ("how did last year's selling go", ("sales", "FY25 in review")),
    ("who handles government customers now", ("sales", "Territories")),
    ("where are the best performers going as a reward", ("sales", "Awards")),
    (
        "what to tell a potential buyer planning to develop it themselves",
        ("sales", "Competition: in-house builds"),
    ),
    # dataplatform
    (
        "what is wrong with the old reporting database that we are replacing it",
        ("dataplatform", "Why migrate"),
    ),
    (
        "will my charts stop working when we switch over",
        ("dataplatform", "What changes for analysts"),
    ),
    (
        "what happens when a table arrives late or half empty",
        ("dataplatform", "Data quality"),
    ),
    ("who can see customers' private fields", ("dataplatform", "Access and privacy")),
    ("when does the old system get switched off", ("dataplatform", "Migration plan")),
    # board
    ("are we thinking of buying another company", ("board", "Strategic options: Project Heron")),
    ("do we plan to ask investors for more money", ("board", "Capital")),
    ("what are the biggest dangers to the business", ("board", "Risk register")),
    (
        "how long until a new customer earns back what it cost to win them",
        ("board", "Unit economics"),
    ),
    ("what must the directors vote on", ("board", "Asks of the board")),
    ("are we spending less to win each customer than before", ("board", "Go-to-market efficiency")),
    ("are we expanding into Asia", ("board", "Strategic options: international")),
    # secreview
    ("how many customer profiles did the hackers get into", ("secreview", "Summary")),
    ("how did the intruders get around our protections", ("secreview", "Root cause")),
    ("did we inform the authorities about the hack", ("secreview", "Notification")),
    ("what are we changing so this cannot happen again", ("secreview", "Remediation")),
    (
        "when did we first notice something was off",
        ("secreview", "Timeline"),
        ("secreview", "What went well"),
    ),
    (
        "where did the leaked passwords probably come from",
        ("secreview", "Open questions"),
        ("secreview", "Summary"),
    ),
    ("what personal details were exposed to the intruders", ("secreview", "Impact")),
    # plant
    ("has anyone been hurt at the factory", ("plant", "Safety")),
    ("why are we throwing away so many parts", ("plant", "Quality")),
    ("are workers putting in too many extra hours", ("plant", "Workforce")),
    ("do factory staff get rewarded for their suggestions", ("plant", "Improvement ideas")),
    (
        "why do product switches take so long in the factory",
        ("plant", "Output"),
        ("plant", "Actions"),
    ),
    ("what broke on the big moulding machine", ("plant", "Maintenance")),
    ("why is the power bill going up at the factory", ("plant", "Energy")),
    # hr
    (
        "can I work from Spain for a month",
        ("hr", "Working abroad"),
        ("hr", "Hybrid work"),
    ),
    ("how many vacation days do I get", ("hr", "Leave")),
    ("how is my raise decided and when does it start", ("hr", "Pay")),
    ("do I need a medical certificate if I'm ill for two days", ("hr", "Sickness")),
    ("how do I move up to the next level", ("hr", "Promotions")),
    (
        "is there money for courses and books",
        ("hr", "Learning"),
        ("allhands", "Benefits update"),
    ),
    ("how often do I get rated by my manager", ("hr", "Performance reviews")),
    # budget
    ("when must I hand in my team's spending plan", ("budget", "Planning calendar")),
    ("is there money set aside for surprises", ("budget", "Contingency")),
    ("how often will we get new computers", ("budget", "Capital expenditure")),
    ("can I attend trade shows next year", ("budget", "Travel and events")),
    ("are we cutting back on apps hardly anyone uses", ("budget", "Software spend")),
    ("how much can each department's costs go up", ("budget", "Guidelines")),
]

# (query, deck keys that hold it): rare names written by hand, found in these decks only.
RARE_NAMES: list[tuple[str, tuple[str, ...]]] = [
    ("Quillfeather", ("launch",)),
    ("Heronsgate cluster", ("mlplatform",)),
    ("Project Heron", ("board",)),
    ("Cormorant", ("sre",)),
    ("Kittiwake", ("dataplatform",)),
    ("SEC-2291", ("secreview",)),
    ("INC-4502", ("sre",)),
    ("MTY-3", ("plant",)),
    ("Beatrix Lindqvist", ("officemove",)),
    ("Lumetric", ("launch", "sales")),
    ("Globetrotter form", ("hr",)),
    ("Pico", ("support",)),
    ("Northwind Annotate", ("mlplatform",)),
    ("Deskly", ("officemove",)),
    ("LC-TIA-118", ("compliance",)),
    ("Rui Carvalho", ("secreview",)),
    ("Brightwater Kesselring", ("sales",)),
    ("Telluride", ("allhands",)),
]
