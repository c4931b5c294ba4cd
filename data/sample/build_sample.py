#!/usr/bin/env python3
"""Build ``sample_ner.csv``, the bundled sample corpus of NER Workbench.

Every sentence below was written for this project (news-style English). People
and most companies are fictional; real place, organisation and event names are
used in invented sentences. Nothing is copied from GMB, CoNLL, Kaggle or any
other corpus; only the *file format* follows the GMB "Annotated Corpus for NER"
(``Sentence #,Word,POS,Tag``, IOB2 tags over geo/gpe/per/org/tim/art/eve/nat).

Markup, one sentence per line, tokens separated by single spaces:

    [Angela Ruiz|per] met [Kenyan|gpe] officials in [Nairobi|geo] on [Tuesday|tim] .

* ``[words|type]`` is an entity; its words become ``B-type I-type ...``.
* every other token is tagged ``O``.
* ``word~TAG`` forces the POS tag of one token.
* lines starting with ``#`` are comments.

POS tags come from a small lexicon plus suffix/context heuristics; they are
reasonable, not gold. The output is deterministic: run

    python data/sample/build_sample.py

and it rewrites ``sample_ner.csv`` next to this script (stdlib only).
"""

from __future__ import annotations

import csv
import random
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "sample_ner.csv"
ENTITY_TYPES = ("geo", "gpe", "per", "org", "tim", "art", "eve", "nat")
SHUFFLE_SEED = 20240607

# ---------------------------------------------------------------- POS lexicon
# "TAG: words". A word may appear under several tags; the first line that lists
# it gives its default tag and the other lines give alternatives that the
# context rules in pos_tag() may choose (VB after "to"/modals, VBN after be/have
# or before "by", NN after a determiner).
_LEXICON_SPEC = """
DT: the a an this these those some any each every all both no another either neither
DT: half
IN: of in on at for with from by about into over under after before during since than
IN: as near across through between against without toward towards like within despite
IN: among amid until around behind along outside inside beyond below above via per
IN: because if while although though whether upon off that out
TO: to
CC: and or but nor
PRP: he she it they we i you him them us itself themselves himself herself
PRP$: his its their our my your her
MD: will would could can may might must should shall
WDT: which whatever
WP: who whom what
WRB: where when how why
EX: there
RP: up down
CD: one two three four five six seven eight nine ten twelve million billion zero
NN: government president minister spokesman spokeswoman trade migration pressure
NN: violence deal region army raid border commander visit trip office end week
NN: election test program year agreement round policy era cabinet member vote
NN: parliament session delay pipeline restraint calm party market energy missile
NN: threat city system plot connection security summit responsibility bombing pause
NN: jungle airspace charge speech spending tanker crew ransom ship owner telephone oil
NN: leader occupation airport percent evidence forest species frog vault island world
NN: space shuttle laboratory dolphin destruction rain climate warming probe center
NN: fleet port whaling barrel production growth economy rate quarter carmaker forecast
NN: plan loan surplus chairman inflation risk gas coast rupee interest aircraft giant
NN: start currency dollar executive decision decade level capacity demand unemployment
NN: tea budget poverty state company drop field record ounce strike mine increase tax
NN: drug cost malaria bird flu virus storm category weather pattern drought earthquake
NN: power outbreak cholera capital tsunami strain slaughter malnutrition winter
NN: landfall campaign district expert pandemic vaccine holiday snow influenza man ash
NN: closure day cure death damage crop help family rally butterfly supply spring
NN: housing aid opening dozen combat lead move roadside use support offer report head
NN: chief wage news series nan disarmament financing control fire protest return sale
NN: release rest debate finish cause
NNS: hundreds thousands millions dozens officials people wages prices police militants
NNS: forces negotiators rebels sides soldiers cars leaders hearings diplomats media
NNS: remarks activists parties countries clashes slums arrests men officers hostages
NNS: years pirates exports makers subsidies shares jobs fields customers markets fears
NNS: farmers incomes roads schools routes miners taxes rates women children gunmen
NNS: doses seeds emissions observers lawmakers troops talks rules arms
JJ: new senior military annual main central southern northern western eastern
JJ: northwest common routine neighboring real serious regional parliamentary
JJ: preliminary hostile female first second third last next other former free key
JJ: small big large poor rich global human natural economic national international
JJ: foreign local several many few own public political nuclear rural heavy rare civil
JJ: sad top federal angry frank useful full unchanged unmanned lunar tropical extinct
JJ: untapped communist holy ethnic blank invalid costly distant unable ready likely
JJ: unlikely certain daily sixth possible wide critical unharmed dead medical ailing
JJ: allied electric low high weak volcanic coastal hillside amateur busy cheap crude
JJ: current dangerous difficult enough faulty frequent joint little minimum normal
JJ: offshore primary prime special straight strong such sudden tense tight tribal
JJ: unequivocal upper white null void missing binding concerned televised infected
JJ: early
JJR: more higher lower colder fairer stronger larger worse
JJS: least most largest tallest highest lowest worst latest
RB: not also still already again now only just very never ever nearly almost too so
RB: further late back abroad away ago later together instead even well once yet here
RB: then however ahead worldwide hard
VBD: was were had did said told met made took won lost left began rose fell grew hit
VBD: went struck broke sank gave shook held spent brought beat set ran chose led kept
VBD: sold cut became spoke sent
VBN: been made held left sold lost won cut hit set kept brought sent led beaten spent
VBN: taken found shown known seen given begun chosen paid heard written hidden bound
VBN: shot motivated jailed suspected injured estimated priced backed brokered directed
VBN: operated
VBZ: is has does says remains wants expires begins holds faces continues breaks allows
VBZ: expects feeds hopes divides opposes raises takes needs reaches
VBP: are have do say fear face plan blame insist
VB: be go take meet send accept discuss return elect reopen show prepare attack double
VB: halt form remain fight hold cut save develop increase sign raise reach help flee
VB: spread become store launch carry succeed compete run retire publish export feed
VB: cook honor challenge end weather heal recognize approve apply link sell renew host
VB: refuel keep bring bid give agree push respond act enrich monitor test pursue
VB: present begin block break build buy close continue debate decide extend fall
VB: finish grow improve join leave live mean negotiate open produce receive reduce
VB: remove rest resume silence skip slow spend stop trace win withdraw suspend release
VB: press rise supply mark post trade control protest report boycott
VBG: being demanding taking using drawing allowing widening hurting pumping rising
VBG: halting damaging cutting forcing searching building preparing beating winning
VBG: ending getting extending speaking meeting saying fasting carrying melting making
VBG: pushing handing flooding
"""

LEXICON: dict[str, str] = {}  # word -> default tag
ALTERNATIVES: dict[str, set] = {}  # word -> every tag it is listed under
for _line in _LEXICON_SPEC.strip().splitlines():
    _tag, _, _words = _line.partition(":")
    for _w in _words.split():
        LEXICON.setdefault(_w, _tag.strip())
        ALTERNATIVES.setdefault(_w, set()).add(_tag.strip())

PUNCT = {
    ".": ".",
    ",": ",",
    '"': "``",
    "(": "LRB",
    ")": "RRB",
    ":": ":",
    ";": ";",
    "?": ".",
    "!": ".",
    "$": "$",
    "--": ":",
    "'s": "POS",
    "'": "POS",
}
BE_HAVE = {"is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "get", "got"}
TO_BASE = {"to", "will", "would", "could", "can", "may", "might", "must", "should", "shall", "not", "did", "does", "do"}
DETERMINERS = {
    "the",
    "a",
    "an",
    "its",
    "his",
    "her",
    "their",
    "our",
    "this",
    "that",
    "these",
    "those",
    "any",
    "every",
    "each",
    "no",
    "'s",
}
SKIPPED_ADVERBS = {"also", "still", "already", "never", "just", "now", "formally", "again", "yet"}
PLURAL_PROPER = {
    "Nations",
    "States",
    "Borders",
    "Games",
    "Olympics",
    "Emirates",
    "Himalayas",
    "Alps",
    "Philippines",
    "Balkans",
    "Airlines",
    "Motors",
    "Rights",
    "Americans",
    "Britons",
}
GPE_NOUNS = {"North", "South", "Sri", "Saudi", "East", "West"}
NUMBER = re.compile(r"^\d[\d,.]*$|^\d+-\d+$|^\d+s$")
NUMERIC_ADJ = re.compile(r"^\d[\d,.]*(-[a-z]+)+$|^\d+(st|nd|rd|th)$")

UNKNOWN: Counter = Counter()  # words tagged by suffix heuristics (for review)


def _common_word(word: str, prev: str, nxt: str, initial: bool) -> str:
    """Tag a word outside any entity from the lexicon, context and suffixes."""
    low = word.lower()
    if low in LEXICON:
        tag, options = LEXICON[low], ALTERNATIVES[low]
        if "VB" in options and prev in TO_BASE:
            return "VB"
        if "VBN" in options and (prev in BE_HAVE or nxt == "by"):
            return "VBN"
        if "NN" in options and prev in DETERMINERS:
            return "NN"
        if tag == "VB":
            return "VBP"
        return tag
    UNKNOWN[low] += 1
    if NUMERIC_ADJ.match(low) or "-" in low:
        return "JJ"
    if low.endswith("ly"):
        return "RB"
    if low.endswith("ing"):
        return "VBG"
    if low.endswith("ed"):
        if initial or prev in BE_HAVE or nxt == "by":
            return "VBN"
        return "VBD"
    if low.endswith("s") and not low.endswith(("ss", "us", "is")):
        return "NNS"
    if prev in TO_BASE:
        return "VB"
    return "NN"


def pos_tag(tokens: list[str], types: list[str], forced: list[str]) -> list[str]:
    """Penn Treebank tags for one sentence (``types[i]`` is '' outside entities)."""
    tags: list[str] = []
    for i, word in enumerate(tokens):
        kind = types[i]
        initial = i == 0 or tokens[i - 1] == '"'
        # the word a verb form depends on, looking past "also", "not yet" ...
        j = i - 1
        while j > 0 and (
            tokens[j].lower() in SKIPPED_ADVERBS or (tokens[j].lower() == "not" and tokens[j - 1].lower() in BE_HAVE)
        ):
            j -= 1
        prev = tokens[j].lower() if j >= 0 else ""
        nxt = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        if forced[i]:
            tags.append(forced[i])
        elif word in PUNCT:
            tags.append(PUNCT[word])
        elif NUMBER.match(word):
            tags.append("CD")
        elif kind:
            low = word.lower()
            if word[0].islower() and low in LEXICON:
                tags.append(LEXICON[low])
            elif kind == "tim" and word[0].islower():
                tags.append("NN")
            elif kind == "gpe":
                if word in PLURAL_PROPER or (word.endswith("s") and word[0].isupper()):
                    tags.append("NNPS")
                elif word in GPE_NOUNS and i + 1 < len(tokens) and types[i + 1] == "gpe":
                    tags.append("NNP")
                else:
                    tags.append("JJ")
            elif word in PLURAL_PROPER and i > 0 and types[i - 1] == kind:
                tags.append("NNPS")
            else:
                tags.append("NNP")
        elif word[0].isupper() and not initial:
            tags.append("NNP")  # e.g. NA
        else:
            tags.append(_common_word(word, prev, nxt, initial))
    return tags


# ------------------------------------------------------------------- parsing
_PIECE = re.compile(r"\[([^\]|]+)\|([a-z]+)\]|(\S+)")


def parse(line: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Return (tokens, entity type, IOB2 tag, forced POS or '') per token."""
    tokens: list[str] = []
    types: list[str] = []
    tags: list[str] = []
    forced: list[str] = []
    for match in _PIECE.finditer(line):
        words, kind, plain = match.groups()
        if plain is not None:
            if plain.startswith("[") or plain.endswith("]") or "|" in plain:
                raise ValueError(f"broken markup {plain!r} in: {line}")
            word, _, pos = plain.partition("~")
            tokens.append(word)
            types.append("")
            tags.append("O")
            forced.append(pos)
            continue
        if kind not in ENTITY_TYPES:
            raise ValueError(f"unknown entity type {kind!r} in: {line}")
        for position, piece in enumerate(words.split()):
            word, _, pos = piece.partition("~")
            tokens.append(word)
            types.append(kind)
            tags.append(("B-" if position == 0 else "I-") + kind)
            forced.append(pos)
    return tokens, types, tags, forced


# ----------------------------------------------------------------- sentences
BLOCKS: list[str] = []

BLOCKS.append(r"""
# --- politics and diplomacy ---
[President Elena Vasquez|per] arrived in [Madrid|geo] on [Monday|tim] for talks with [European Union|org] leaders on trade and migration .
[Iranian|gpe] officials say they will continue talks with the [International Atomic Energy Agency|org] despite new pressure from [Washington|geo] .
The [U.N. Security Council|org] met in [New York|geo] late [Tuesday|tim] to discuss the violence in [Darfur|geo] .
[Foreign Minister Pavel Orlov|per] said [Russia|geo] would not accept any deal that ignored its interests in the [Black Sea|geo] region .
Thousands of people marched through central [Cairo|geo] on [Friday|tim] , demanding higher wages and lower food prices .
[Mr. Orlov|per] told [Reuters|org] that the talks had been " frank but useful . "
[Pakistani|gpe] troops killed at least 12 militants in a raid near the [Afghan|gpe] border , the army said [Sunday|tim] .
[NATO|org] says its forces in southern [Afghanistan|geo] have captured a senior militant commander .
[Chinese|gpe] [President Li Wen|per] begins a four-day visit to [Kenya|geo] on [Wednesday|tim] , his first trip to [Africa|geo] since taking office in [2005|tim] .
The [African Union|org] has agreed to send 2,000 more peacekeepers to [Somalia|geo] by the end of [March|tim] .
[Israeli|gpe] and [Palestinian|gpe] negotiators will meet again next week in [Jerusalem|geo] , a spokesman said .
Voters in [Ukraine|geo] go to the polls on [Sunday|tim] in a parliamentary election seen as a test for [Prime Minister Nikolai Petrenko|per] .
[Turkish|gpe] lawmakers approved a bill [Thursday|tim] that allows the army to pursue rebels across the border into northern [Iraq|geo] .
[Human Rights Watch|org] accused both sides in the conflict of using child soldiers .
The [European Commission|org] proposed new rules on [Wednesday|tim] to cut carbon emissions from cars by [2012|tim] .
[Venezuelan|gpe] [President Diego Fuentes|per] has threatened to cut oil shipments to the [United States|geo] if sanctions are imposed .
[Senator Julia Brandt|per] said [Congress|org] should hold hearings on the program before the end of the year .
The talks in [Geneva|geo] ended without agreement , and diplomats say a new round may not begin until [September|tim] .
[North Korean|gpe] state media said the country is ready to return to disarmament talks if [Washington|geo] drops its " hostile policy . "
[Japanese|gpe] [Prime Minister Hiroshi Tanaka|per] has apologized for remarks by a cabinet member about the [World War II|eve] era .
[Egyptian|gpe] police detained dozens of opposition activists in [Alexandria|geo] ahead of [Saturday|tim] 's vote .
[Lebanon|geo] 's parliament again postponed a session to elect a new president , the sixth delay since [November|tim] .
[Syrian|gpe] and [Iraqi|gpe] officials signed an agreement in [Damascus|geo] to reopen an oil pipeline closed since [2003|tim] .
The [Foreign Ministry|org] in [Beijing|geo] urged all parties to show restraint .
[Kenyan|gpe] opposition leader [Grace Achieng|per] called for calm after clashes in [Nairobi|geo] 's western slums left five people dead .
[Brazilian|gpe] [President Ana Morales|per] will host regional leaders in [Brasilia|geo] next month to discuss a common energy market .
A spokesman for the [Defense Ministry|org] said the missile test was routine and posed no threat to neighboring countries .
Police in [London|geo] arrested three men on [Tuesday|tim] in connection with a plot to attack the city 's transport system .
[British|gpe] [Home Secretary James Whitfield|per] said the arrests showed that the threat " remains real and serious . "
[German|gpe] [Chancellor Lukas Brenner|per] and [French|gpe] [President Claire Dubois|per] will meet in [Berlin|geo] on [Friday|tim] to prepare for the [EU|org] summit .
The [Taleban|org] claimed responsibility for the bombing , which killed seven police officers in [Kandahar|geo] .
[Indian|gpe] and [Pakistani|gpe] officials resumed peace talks in [New Delhi|geo] on [Monday|tim] after a pause of six months .
[Colombia|geo] 's government says rebels have freed four hostages held in the jungle for more than five years .
The [Organization of American States|org] will send observers to monitor the election in [Peru|geo] in [April|tim] .
[Georgian|gpe] officials accused [Moscow|geo] of violating its airspace , a charge [Russia|geo] denied .
In a speech to [Parliament|org] , [Mr. Whitfield|per] promised to double spending on border security by [2010|tim] .
[Somali|gpe] pirates released a [Greek|gpe] tanker and its crew of 24 after a ransom was paid , the ship 's owner said .
The [White House|org] said [President Robert Hale|per] spoke by telephone with [Saudi|gpe] leaders about oil prices and regional security .
[Amnesty International|org] says executions in [Iran|geo] rose sharply last year , and it has called on [Tehran|geo] to halt them .
Election officials in [Nigeria|geo] say results from the [April 21|tim] vote will be announced within a week .
[Thai|gpe] protesters ended their occupation of [Bangkok|geo] 's main airport on [Wednesday|tim] , allowing flights to resume .
The [Palestinian|gpe] leader , [Karim Haddad|per] , said he was ready to form a unity government with his rivals in [Gaza|geo] .
[Australian|gpe] troops will remain in southern [Iraq|geo] until at least the middle of [2008|tim] , the defense minister said .
[Mexican|gpe] authorities have sent 6,000 soldiers to the northern city of [Tijuana|geo] to fight drug gangs .
[U.S.|geo] and [South Korean|gpe] forces began annual military exercises on [Monday|tim] , drawing an angry response from [Pyongyang|geo] .
[Mr. Petrenko|per] 's party won about 34 percent of the vote , according to preliminary results released by the [Central Election Commission|org] .
[Sri Lankan|gpe] officials say fighting between government troops and [Tamil|gpe] rebels in the north has killed at least 40 people since [Friday|tim] .
[Nigerian|gpe] [President Samuel Adeyemi|per] has ordered an inquiry into the deaths of 11 villagers in the oil-rich [Niger Delta|geo] .
[Polish|gpe] officials say a deal to host part of a [U.S.|geo] missile defense system is " very close . "
Diplomats from [France|geo] , [Britain|geo] and [Germany|geo] are expected to present a new offer to [Tehran|geo] later this month .
# --- economy and business ---
Oil prices rose above $ 90 a barrel on [Thursday|tim] after [OPEC|org] said it would not increase production .
The [World Bank|org] says economic growth in [East Asia|geo] will slow to about 8 percent in [2008|tim] .
[Japan|geo] 's economy grew at an annual rate of 2.4 percent in the third quarter , the government said [Friday|tim] .
Shares of [Calder Motors|org] fell 6 percent in [Tokyo|geo] after the carmaker cut its profit forecast .
[Halden Bank|org] said it will cut 3,500 jobs worldwide as part of a plan to save $ 1.2 billion a year .
The [International Monetary Fund|org] approved a $ 750 million loan for [Pakistan|geo] on [Tuesday|tim] .
[Chinese|gpe] exports rose 22 percent in [October|tim] , widening the country 's trade surplus with the [United States|geo] and [Europe|geo] .
[Federal Reserve|org] chairman [Martin Keller|per] said inflation remains the main risk to the [U.S.|geo] economy .
[Norvex Energy|org] has signed a $ 4 billion deal to develop natural gas fields off the coast of [Angola|geo] .
[Indian|gpe] software exporters say a stronger rupee is hurting their profits .
The [European Central Bank|org] left interest rates unchanged at 4 percent on [Thursday|tim] .
[Bluewater Airlines|org] said [Monday|tim] it will buy 12 [Airbus A380|art] aircraft for its long-haul routes to [Asia|geo] .
[Russian|gpe] gas giant [Gazprom|org] says it will raise prices for [Belarus|geo] from the start of [January|tim] .
[Brazil|geo] and [Argentina|geo] agreed to trade in their own currencies instead of the [U.S.|geo] dollar .
[Meridian Telecom|org] chief executive [Sofia Lindqvist|per] said the company expects to sign up 10 million new customers in [Africa|geo] next year .
The [World Trade Organization|org] ruled against [European|gpe] subsidies for aircraft makers , a decision welcomed by [Washington|geo] .
Consumer prices in [Britain|geo] rose 3.1 percent in the year to [September|tim] , the highest rate in a decade .
[Vietnam|geo] became the 150th member of the [WTO|org] in [January 2007|tim] .
Stock markets across [Asia|geo] fell sharply on [Monday|tim] amid fears of a slowdown in the [U.S.|geo] housing market .
[Ghana|geo] began pumping oil from its first offshore field in [December|tim] , officials said .
[Calder Motors|org] unveiled the [Calder Voyager|art] , a small electric car it hopes to sell in [China|geo] and [India|geo] for under $ 10,000 .
[Saudi Arabia|geo] , the world 's largest oil exporter , said it has enough capacity to meet rising demand .
Unemployment in [Spain|geo] fell to 8.3 percent in the second quarter , its lowest level since [1979|tim] .
[Kenyan|gpe] tea farmers say falling prices at auctions in [Mombasa|geo] have cut their incomes by half .
[Finance Minister Rajiv Mehta|per] presented a budget that raises spending on rural roads and schools .
[Mr. Mehta|per] told lawmakers in [New Delhi|geo] that [India|geo] 's economy would grow by at least 9 percent this year .
The [IMF|org] warned that high food prices could push millions of people in [Africa|geo] back into poverty .
[Harbor Line Shipping|org] said it would suspend routes through the [Gulf of Aden|geo] because of the threat from pirates .
[Mexico|geo] 's state oil company reported a 15 percent drop in production at its largest field in the [Gulf of Mexico|geo] .
Gold prices hit a record high of $ 1,000 an ounce in [New York|geo] on [Wednesday|tim] .
[South African|gpe] miners went on strike [Tuesday|tim] , halting production at several gold and platinum mines near [Johannesburg|geo] .
The [Bank of Japan|org] raised its key interest rate to 0.5 percent , the first increase in seven months .
[Argentine|gpe] farmers ended a 21-day strike over export taxes after [President Felipe Ortega|per] agreed to new talks .
[Astra Pharma|org] said its new malaria drug , [Quinora|art] , will be sold at cost in poor countries .
Trade between [China|geo] and [Africa|geo] passed $ 50 billion in [2006|tim] , according to [Chinese|gpe] figures .
# --- health, weather, disasters ---
The [World Health Organization|org] confirmed two new human cases of [H5N1|nat] bird flu in [Indonesia|geo] on [Friday|tim] .
[Indonesian|gpe] health officials say a 10-year-old girl from western [Java|geo] died of the [H5N1|nat] virus last week .
[Hurricane Delia|nat] strengthened to a category four storm as it moved across the [Caribbean|geo] toward [Jamaica|geo] .
Forecasters in [Miami|geo] said [Delia|nat] could reach the [Gulf of Mexico|geo] by [Thursday|tim] .
At least 30 people were killed when [Typhoon Marlo|nat] struck the central [Philippines|geo] on [Sunday|tim] .
Scientists say the [El Nino|nat] weather pattern is likely to bring drought to [Australia|geo] and heavy rain to [Peru|geo] this year .
The [Red Cross|org] has appealed for $ 20 million to help victims of the floods in [Bangladesh|geo] .
An earthquake measuring 6.8 shook northern [Japan|geo] on [Monday|tim] , damaging buildings and cutting power to thousands of homes .
Health officials in [Uganda|geo] say an outbreak of [Ebola|nat] has killed 16 people in the west of the country .
[Doctors Without Borders|org] says it is treating hundreds of cholera patients in [Zimbabwe|geo] 's capital , [Harare|geo] .
The [SARS|nat] outbreak in [2003|tim] killed nearly 800 people , most of them in [China|geo] and [Hong Kong|geo] .
[Tropical Storm Orla|nat] brought heavy rain to [Haiti|geo] , where officials fear mudslides in hillside towns .
[Vietnamese|gpe] authorities have ordered the slaughter of 50,000 ducks after [H5N1|nat] was found on farms near [Hanoi|geo] .
[UNICEF|org] says more than one million children in [Niger|geo] face malnutrition because of drought and locusts .
Experts say a weak [La Nina|nat] could mean a colder than normal winter across northern [Europe|geo] .
[Cyclone Rana|nat] made landfall in southern [Bangladesh|geo] late [Thursday|tim] , forcing 300,000 people to flee their homes .
[Health Minister Fatima Noor|per] said the vaccination campaign would reach every district of [Pakistan|geo] by [December|tim] .
[Dr. Leila Nasser|per] , a virus expert at the [World Health Organization|org] , said the risk of a global pandemic remains low .
The [H5N1|nat] strain has now been found in birds in more than 50 countries , including [Turkey|geo] , [Egypt|geo] and [Nigeria|geo] .
Rescue teams in [Peru|geo] are still searching for survivors of [Wednesday|tim] 's earthquake near the coastal city of [Pisco|geo] .
The [U.N.|org] says the [Indian Ocean|geo] tsunami of [December 2004|tim] left more than 200,000 people dead or missing .
[Chinese|gpe] officials say heavy snow in the south has stranded millions of travelers ahead of the [Lunar New Year|tim] holiday .
[Hurricane Delia|nat] caused an estimated $ 2 billion in damage to crops and homes in [Cuba|geo] .
[Australian|gpe] farmers blame [El Nino|nat] for the worst drought in a century .
A new strain of [H1N1|nat] influenza has been detected in pigs in southern [Mexico|geo] , the [Agriculture Ministry|org] said .
[Typhoon Marlo|nat] weakened as it crossed [Vietnam|geo] , but floods in [Laos|geo] killed at least nine people .
Officials in [Sichuan|geo] province say landslides have blocked the main road to the earthquake zone .
[Pakistan|geo] reported its first human case of [H5N1|nat] bird flu , in a man who had culled infected chickens near [Peshawar|geo] .
Volcanic ash from [Mount Merapi|geo] forced the closure of the airport in [Yogyakarta|geo] for a second day .
[Ebola|nat] has no known cure , and the current outbreak has a death rate of about 50 percent , health workers said .
[Ms. Noor|per] said [UNICEF|org] and the [WHO|org] had provided 12 million doses of polio vaccine .
""")

BLOCKS.append(r"""
# --- sport and events ---
[Beijing|geo] spent more than $ 40 billion preparing for the [Summer Olympics|eve] , according to [Chinese|gpe] media .
[Brazil|geo] will host the [World Cup|eve] in [2014|tim] , [FIFA|org] announced [Tuesday|tim] in [Zurich|geo] .
[Kenyan|gpe] runner [Peter Kiprono|per] won the [Boston Marathon|eve] on [Monday|tim] in two hours , seven minutes .
The [Italian|gpe] national team won the [World Cup|eve] in [Berlin|geo] , beating [France|geo] on penalties .
[Lucas Moreau|per] of [France|geo] took the lead in the [Tour de France|eve] after winning [Saturday|tim] 's mountain stage in the [Alps|geo] .
[Russian|gpe] tennis player [Katya Belova|per] reached the semifinals at [Wimbledon|eve] for the first time .
[Sochi|geo] was chosen to host the [2014|tim] [Winter Olympics|eve] , beating bids from [Austria|geo] and [South Korea|geo] .
Organizers say ticket sales for the [Asian Games|eve] in [Doha|geo] have exceeded their expectations .
[Egypt|geo] won the [Africa Cup of Nations|eve] for a record sixth time , beating [Cameroon|geo] 1-0 in the final in [Accra|geo] .
The [International Olympic Committee|org] says it will test athletes for a new blood-boosting drug at the [Beijing Olympics|eve] .
[South African|gpe] officials insist stadiums for the [2010|tim] [World Cup|eve] will be finished on time .
[Hana Sato|per] won [Japan|geo] 's first gold medal of the games in women 's judo .
Security will be tight at the [Super Bowl|eve] in [Arizona|geo] on [Sunday|tim] , federal officials said .
[Australia|geo] beat [Sri Lanka|geo] by 53 runs to win the [Cricket World Cup|eve] final in [Barbados|geo] .
[Indian|gpe] cricket captain [Rahul Verma|per] said his team was ready for the series against [England|geo] in [July|tim] .
The [Commonwealth Games|eve] will open in [New Delhi|geo] in [October 2010|tim] , despite delays in building the athletes ' village .
[Ingrid Holm|per] of [Norway|geo] won the women 's 30-kilometer race at the [Winter Olympics|eve] in [Turin|geo] .
More than 4,000 films were submitted to the [Cannes Film Festival|eve] this year , organizers said .
The [Olympic|eve] torch relay was disrupted by protesters in [Paris|geo] and [London|geo] .
[Chinese|gpe] swimmer [Chen Jia|per] broke the world record in the 200-meter butterfly at the [Asian Games|eve] .
[FIFA|org] banned the [Mexican|gpe] football federation from international games for two months over crowd violence .
[Moreau|per] said he would retire after the [Tour de France|eve] , ending a 14-year career .
# --- artifacts, culture, technology ---
The [Nobel Peace Prize|art] was awarded to a [Bangladeshi|gpe] banker who pioneered small loans for the poor .
[Nigerian|gpe] writer [Amina Okafor|per] won the prize for her novel [The Salt Road|art] , about a family divided by civil war .
[Meridian Telecom|org] will launch the [Aurora X5|art] phone in [Europe|geo] in [November|tim] , priced at about 300 euros .
Critics say [Windows Vista|art] , the latest version of [Microsoft|org] 's operating system , has sold more slowly than expected .
[Japan|geo] and [Canada|geo] say they are unlikely to meet their targets under the [Kyoto Protocol|art] .
[Iran|geo] says it has the right to enrich uranium under the [Non-Proliferation Treaty|art] .
The film [Northern Harvest|art] , directed by [Czech|gpe] filmmaker [Marta Novak|per] , won the top prize at the [Venice Film Festival|eve] .
A [Boeing 747|art] cargo plane crashed shortly after takeoff from [Kabul|geo] airport , killing all seven crew members .
The [European Space Agency|org] launched the [Meridian One|art] satellite from [French Guiana|geo] on [Saturday|tim] .
[Haddad|per] 's memoir , [A House by the Sea|art] , has become a best-seller in the [Arab|gpe] world .
[Russia|geo] has suspended its participation in the [Conventional Forces in Europe Treaty|art] , a key arms control pact .
Sales of [Apple|org] 's [iPod|art] music player helped the company post record profits in the last quarter .
[Bluewater Airlines|org] grounded its fleet of [Boeing 737|art] jets for safety checks after an engine failure over [Portugal|geo] .
[Lantern|art] , a free web browser developed by a small team in [Helsinki|geo] , now has 20 million users .
The [Kyoto Protocol|art] expires in [2012|tim] , and talks on a successor treaty will begin in [Bali|geo] in [December|tim] .
[Amina Okafor|per] said she would give the prize money to schools in her home town of [Enugu|geo] .
A rare copy of the [Magna Carta|art] will be sold at auction in [New York|geo] next month .
[Calder Motors|org] recalled 200,000 [Calder Voyager|art] cars because of faulty brakes .
The [Ottawa Treaty|art] banning land mines has been signed by more than 150 countries , but not by the [United States|geo] , [Russia|geo] or [China|geo] .
[Sony|org] said its [PlayStation 3|art] game console will go on sale in [Europe|geo] in [March|tim] .
# --- conflict and crime ---
Gunmen in [Baghdad|geo] kidnapped a senior official from the [Health Ministry|org] on [Sunday|tim] , police said .
A car bomb exploded near a busy market in the northern city of [Mosul|geo] , killing at least 15 people .
[Iraqi|gpe] [Prime Minister Ahmed Saleh|per] said security forces would take control of [Basra|geo] province by the end of the year .
[U.S.|geo] military officials say [American|gpe] and [Iraqi|gpe] troops detained 23 suspected insurgents in raids west of [Baghdad|geo] .
[Interpol|org] has issued an arrest warrant for a former [Peruvian|gpe] intelligence chief accused of corruption .
[Colombian|gpe] police seized more than eight tons of cocaine hidden in a shipment of bananas bound for [Spain|geo] .
A court in [Istanbul|geo] gave [Turkish|gpe] novelist [Yusuf Demir|per] a suspended prison term for comments he made about the army .
[Afghan|gpe] officials say a roadside bomb killed four [Canadian|gpe] soldiers in [Kandahar|geo] province on [Thursday|tim] .
[Israeli|gpe] aircraft struck targets in southern [Lebanon|geo] early [Wednesday|tim] , the army said .
The [Supreme Court|org] in [Islamabad|geo] ordered the government to release dozens of people held without charge .
[Hassan Rahimi|per] , a spokesman for the [Iranian|gpe] [Foreign Ministry|org] , rejected the report as " politically motivated . "
[Mexican|gpe] drug gangs are fighting for control of smuggling routes into [Texas|geo] and [Arizona|geo] .
[Philippine|gpe] troops backed by helicopter gunships attacked a rebel camp on the southern island of [Mindanao|geo] .
[Russian|gpe] prosecutors have charged two men with the murder of a journalist in [Moscow|geo] in [October 2006|tim] .
[Sudan|geo] 's government and rebel groups from [Darfur|geo] will hold peace talks in [Libya|geo] later this month .
Police in [Karachi|geo] say a suicide bomber attacked a convoy carrying the former prime minister , killing more than 130 people .
[Kurdish|gpe] rebels have killed 12 [Turkish|gpe] soldiers in an ambush near the [Iraqi|gpe] border .
The [International Committee of the Red Cross|org] says it has been allowed to visit prisoners at [Guantanamo Bay|geo] .
A [Ugandan|gpe] rebel group , the [Lord 's Resistance Army|org] , has agreed to a cease-fire .
[French|gpe] police arrested 20 people in suburbs outside [Paris|geo] after a second night of riots .
[Pakistani|gpe] [President Tariq Mansour|per] declared a state of emergency , suspending the constitution and sacking the chief justice .
Militants in the [Niger Delta|geo] have kidnapped six foreign oil workers , including two [Britons|gpe] .
[Mr. Saleh|per] met tribal leaders in [Anbar|geo] province on [Saturday|tim] to discuss the fight against [al-Qaida|org] .
The [Pentagon|org] says it will send 3,000 more troops to [Afghanistan|geo] early next year .
[Somali|gpe] government forces , backed by [Ethiopian|gpe] troops , regained control of [Mogadishu|geo] on [December 28|tim] .
[Indonesian|gpe] police say they have arrested a top member of a militant network behind the [Bali|geo] bombings .
# --- science and environment ---
Scientists at the [University of Cape Town|org] say they have found a new species of frog in the forests of [Madagascar|geo] .
Ice in the [Arctic|geo] melted to its lowest level on record this summer , according to the [National Snow and Ice Data Center|org] .
[Norway|geo] will build a vault on the island of [Svalbard|geo] to store seeds from around the world .
[NASA|org] says the space shuttle [Atlantis|art] will launch on [Thursday|tim] with a new laboratory for the [International Space Station|art] .
[Chinese|gpe] scientists say the [Yangtze River|geo] dolphin is probably extinct .
[Brazilian|gpe] officials say destruction of the [Amazon|geo] rain forest rose sharply in the last five months of [2007|tim] .
[U.N.|org] climate experts meeting in [Valencia|geo] warned that global warming is " unequivocal . "
[Swedish|gpe] [Environment Minister Tomas Berg|per] said rich countries must cut emissions by at least 30 percent by [2020|tim] .
[India|geo] launched its first lunar probe , [Chandrayaan-1|art] , from a space center near [Chennai|geo] .
A [Japanese|gpe] whaling fleet left port [Sunday|tim] for the [Antarctic|geo] , despite protests from [Australia|geo] and [New Zealand|geo] .
""")

BLOCKS.append(r"""
# --- people in the news ---
[Tomas Berg|per] will lead the [Swedish|gpe] delegation at the climate conference in [Bali|geo] in [December|tim] .
[Mr. Berg|per] said the [European Union|org] would push hard for binding targets on emissions .
[Yusuf Demir|per] , a [Turkish|gpe] novelist , was acquitted on [Friday|tim] of charges that he had insulted the state in his latest book .
[Demir|per] 's lawyer said the case should never have been brought .
[Karim Haddad|per] arrived in [Cairo|geo] on [Saturday|tim] for talks with [Egyptian|gpe] mediators .
Speaking in [Ramallah|geo] , [Mr. Haddad|per] said he would not negotiate while [Israeli|gpe] settlement building continues .
[Li Wen|per] told the [National People 's Congress|org] that [China|geo] would spend more on health care and rural schools .
[President Li|per] also promised to cut energy use per unit of output by 20 percent by [2010|tim] .
[David Mensah|per] , [Ghana|geo] 's trade minister , said the country wants a fairer deal from the [European Union|org] .
[Mensah|per] spoke after meeting [EU|org] trade officials in [Brussels|geo] on [Wednesday|tim] .
[President Claire Dubois|per] named [Antoine Girard|per] , a former banker , as [France|geo] 's new finance minister .
[Ms. Dubois|per] won the presidency in [May|tim] with 53 percent of the vote .
[Lukas Brenner|per] said [Germany|geo] would not send combat troops to southern [Afghanistan|geo] .
[Chancellor Brenner|per] faces a difficult vote in the [Bundestag|org] next week on extending the mission .
[Hassan Rahimi|per] said [Tehran|geo] would respond " firmly " to any attack on its nuclear sites .
[Fatima Noor|per] urged parents in [Lahore|geo] and [Karachi|geo] to bring their children for polio drops .
[Rajiv Mehta|per] , [India|geo] 's finance minister , will visit [Washington|geo] and [New York|geo] next week to meet investors .
[Robert Hale|per] signed a bill [Friday|tim] that raises fuel standards for cars for the first time in more than 30 years .
[President Hale|per] said the law would reduce [America|geo] 's dependence on foreign oil .
[Senator Brandt|per] criticized the bill , saying it did too little to help farmers in the [Midwest|geo] .
[Maria Costa|per] , a spokeswoman for the [World Food Program|org] , said food aid to [North Korea|geo] would resume in [June|tim] .
[Ms. Costa|per] said the agency needs $ 500 million to feed refugees in [Chad|geo] and [Sudan|geo] this year .
[Pavel Orlov|per] met his [American|gpe] counterpart in [Vienna|geo] on [Thursday|tim] to discuss missile defense .
[Omar Farouk|per] , a senior [Hamas|org] official , said the group would honor a truce with [Israel|geo] if attacks on [Gaza|geo] stopped .
[Grace Achieng|per] said her party would challenge the election results in the [High Court|org] .
[Nikolai Petrenko|per] will visit [Warsaw|geo] on [Tuesday|tim] to discuss energy links between [Ukraine|geo] and the [European Union|org] .
[Samuel Adeyemi|per] promised to end fuel shortages in [Lagos|geo] before the end of [January|tim] .
[Diego Fuentes|per] has called for a referendum in [December|tim] on changes to [Venezuela|geo] 's constitution .
Critics say [Mr. Fuentes|per] wants to remain in power indefinitely .
[Felipe Ortega|per] told [Argentine|gpe] farmers that the tax was needed to keep food prices down in [Buenos Aires|geo] .
[Ana Morales|per] said [Brazil|geo] would produce enough ethanol to export to [Japan|geo] and [Europe|geo] by [2010|tim] .
[Elena Vasquez|per] , [Chile|geo] 's first female president , met [Spanish|gpe] business leaders at a forum in [Madrid|geo] .
[Ms. Vasquez|per] said copper exports would help [Chile|geo] weather a global slowdown .
[Hiroshi Tanaka|per] resigned on [September 12|tim] , saying he had lost the support of voters .
[Japan|geo] 's ruling party chose [Kenji Mori|per] to succeed [Mr. Tanaka|per] as prime minister .
[Ahmed Saleh|per] said [Iraq|geo] 's oil law would be sent to [Parliament|org] within weeks .
[Tariq Mansour|per] ended the state of emergency on [December 15|tim] , six weeks after it was imposed .
[Zainab Kamara|per] , a human rights lawyer in [Freetown|geo] , said the war crimes trial would help [Sierra Leone|geo] heal .
[Kwame Boateng|per] , the head of [Ghana|geo] 's election commission , said turnout was about 70 percent .
[Viktor Kral|per] , a [Czech|gpe] diplomat , was named the [European Union|org] 's special envoy to the [Balkans|geo] .
[Priya Raman|per] , an economist at [Halden Bank|org] in [Singapore|geo] , said growth in the region would slow next year .
[Ivan Sokolov|per] , the head of the [Russian|gpe] oil company [Volga Oil|org] , said output would rise 5 percent in [2008|tim] .
[Aisha Bello|per] , a doctor with [Doctors Without Borders|org] in [Darfur|geo] , said conditions in the camps were getting worse .
[Erik Dahl|per] , [Norway|geo] 's foreign minister , will host talks between the [Sri Lankan|gpe] government and the rebels in [Oslo|geo] .
[Julia Brandt|per] announced on [Monday|tim] that she would run for president in [2008|tim] .
[Martin Keller|per] said the [Federal Reserve|org] was ready to act if the credit crisis worsened .
[Hana Sato|per] , who won gold in [Athens|geo] in [2004|tim] , will carry [Japan|geo] 's flag at the opening ceremony .
[Leila Nasser|per] said the [H5N1|nat] virus had not yet shown an ability to spread easily between people .
[Sofia Lindqvist|per] joined [Meridian Telecom|org] in [2003|tim] after ten years at a [Finnish|gpe] phone maker .
[Marta Novak|per] said her next film would be shot in [Prague|geo] and [Vienna|geo] next spring .
[Lucas Moreau|per] crossed the finish line on the [Champs-Elysees|geo] in [Paris|geo] on [Sunday|tim] to win the [Tour de France|eve] .
[Peter Kiprono|per] said he would run in the [London Marathon|eve] in [April|tim] .
[Katya Belova|per] lost in straight sets to [Serbian|gpe] player [Mira Jovanovic|per] in the [Wimbledon|eve] quarterfinals .
[Rahul Verma|per] scored a century as [India|geo] beat [Pakistan|geo] by six wickets in [Lahore|geo] .
[Chen Jia|per] will compete in four events at the [Beijing Olympics|eve] in [August|tim] .
[Antoine Girard|per] said [France|geo] would cut its budget deficit to zero by [2012|tim] .
[Amina Okafor|per] 's second novel , [Rain over Kano|art] , will be published in [London|geo] in [September|tim] .
[Kenji Mori|per] promised to keep [Japanese|gpe] ships in the [Indian Ocean|geo] to refuel allied warships .
# --- around the world ---
Heavy fighting broke out [Sunday|tim] in the [Swat|geo] valley of northwest [Pakistan|geo] , local officials said .
[Morocco|geo] and the [Polisario Front|org] ended a new round of talks near [New York|geo] without progress on the future of [Western Sahara|geo] .
The [Arab League|org] will hold an emergency meeting in [Cairo|geo] on [Sunday|tim] to discuss the crisis in [Lebanon|geo] .
[Kosovo|geo] 's parliament declared independence from [Serbia|geo] on [February 17|tim] , a move recognized by [Washington|geo] and most [EU|org] states .
Officials in [Belgrade|geo] said [Serbia|geo] would never recognize the new state .
[Cuban|gpe] state television showed new pictures of the ailing leader meeting a [Venezuelan|gpe] delegation in [Havana|geo] .
[Zimbabwe|geo] 's annual inflation rate has passed 100,000 percent , the central bank said [Thursday|tim] .
[Bolivian|gpe] voters will decide in a referendum next year whether to approve a new constitution .
[Burmese|gpe] troops fired on monks and other protesters in [Rangoon|geo] , killing at least 10 people .
[ASEAN|org] foreign ministers meeting in [Singapore|geo] expressed " revulsion " at the violence in [Burma|geo] .
[Taiwan|geo] held a referendum on [March 22|tim] on whether to apply for [U.N.|org] membership .
[Hong Kong|geo] 's stock market closed 3 percent higher on [Tuesday|tim] , led by banks and property companies .
[Saudi|gpe] officials say more than two million pilgrims are expected in [Mecca|geo] for the annual [Hajj|eve] .
People across [Indonesia|geo] began fasting for the holy month of [Ramadan|tim] on [Saturday|tim] .
[Bosnian|gpe] [Serb|gpe] leaders threatened to hold a referendum on independence if [Kosovo|geo] breaks away .
[Cyprus|geo] adopted the euro on [January 1|tim] , along with [Malta|geo] .
[Belgium|geo] has been without a government for more than 100 days because of disputes between [Dutch|gpe] and [French|gpe] speakers .
[Iceland|geo] 's banks have borrowed heavily abroad , and economists in [Reykjavik|geo] are worried about a sudden crash .
[Kyrgyz|gpe] police broke up a protest outside the parliament building in [Bishkek|geo] .
Two [Italian|gpe] aid workers kidnapped in [Afghanistan|geo] in [March|tim] have been freed , the [Foreign Ministry|org] in [Rome|geo] said .
[Uzbekistan|geo] has ordered an [American|gpe] aid group to close its office in [Tashkent|geo] .
[Greek|gpe] firefighters are battling more than 60 forest fires in the [Peloponnese|geo] , where dozens of people have died .
[Portugal|geo] takes over the rotating presidency of the [European Union|org] on [July 1|tim] .
The [Dutch|gpe] government says it will withdraw its 1,600 troops from [Uruzgan|geo] province in [2010|tim] .
[Nepal|geo] abolished its 240-year-old monarchy on [May 28|tim] and became a republic .
The [Khmer Rouge|org] tribunal in [Phnom Penh|geo] charged a former leader with crimes against humanity .
[Fiji|geo] 's military ruler has promised to hold elections by [March 2009|tim] .
[Bahrain|geo] , [Qatar|geo] and the [United Arab Emirates|geo] plan to link their electricity grids by [2011|tim] .
[Kazakhstan|geo] has agreed to sell more oil to [China|geo] through a new pipeline that opened in [December|tim] .
Police in [Manila|geo] say a bomb exploded outside the [House of Representatives|org] , killing a congressman and two aides .
[Canadian|gpe] [Prime Minister Alan Burke|per] said [Ottawa|geo] would extend its mission in [Afghanistan|geo] to [2011|tim] .
[Mr. Burke|per] made the announcement during a visit to troops in [Kandahar|geo] .
[Australia|geo] 's new government formally signed the [Kyoto Protocol|art] on [December 3|tim] .
[New Zealand|geo] and [China|geo] signed a free trade agreement in [Beijing|geo] on [Monday|tim] , the first such deal between [China|geo] and a developed country .
""")

BLOCKS.append(r"""
# --- general news, quotes, longer sentences ---
The government said it would raise the minimum wage by 10 percent , but unions called the increase too small .
Witnesses said the gunmen escaped in a white car before police arrived .
Officials say the cause of the fire is still under investigation .
The report said nearly half of the country 's children do not finish primary school .
[Ms. Costa|per] said the [World Food Program|org] , which feeds about 90 million people in more than 70 countries , had been forced to cut rations in [Kenya|geo] , [Ethiopia|geo] and [Uganda|geo] because donors had not kept promises made in [Rome|geo] last [June|tim] .
[Zimbabwe|geo] 's opposition says it will boycott the runoff vote set for [June 27|tim] , accusing the ruling party of a campaign of violence that has killed dozens of its supporters and forced thousands more from their homes .
Officials from [Norvex Energy|org] , [Halden Bank|org] and three [Chinese|gpe] lenders met in [Singapore|geo] on [Thursday|tim] to discuss financing for a $ 6 billion pipeline that would carry gas from [Central Asia|geo] through [Afghanistan|geo] to [Pakistan|geo] and [India|geo] .
[Dr. Leila Nasser|per] told reporters in [Geneva|geo] that the [WHO|org] would send a team to [Indonesia|geo] next week , and that countries in [Southeast Asia|geo] should report every suspected case of [H5N1|nat] within 24 hours .
" We will not give up , " [Grace Achieng|per] told a rally in [Kisumu|geo] .
" This is a sad day for [Nigeria|geo] , " [President Adeyemi|per] said in a televised address on [Saturday|tim] .
According to [Reuters|org] , the two men were arrested at a checkpoint outside [Jalalabad|geo] .
The [Associated Press|org] reported that about 200 people were injured in clashes in [Tbilisi|geo] on [Wednesday|tim] .
In [Washington|geo] , [State Department|org] spokesman [Tom Reyes|per] said the [United States|geo] was " deeply concerned . "
Asked about the report , [Mr. Reyes|per] said he had no further comment .
Last year , [Japan|geo] imported about 16 million tons of corn from the [United States|geo] .
By [2050|tim] , the [U.N.|org] expects nearly 70 percent of the world 's population to live in cities .
More than 100 [Chinese|gpe] workers are building a new railway between [Addis Ababa|geo] and [Djibouti|geo] .
[Tanzania|geo] and [Mozambique|geo] have agreed to build a bridge across the [Ruvuma River|geo] .
Pirates attacked a [Japanese|gpe] tanker off the coast of [Yemen|geo] , but the crew escaped unharmed .
[Dubai|geo] is building the world 's tallest tower , which will be more than 800 meters high when it is finished in [2009|tim] .
[Iranian|gpe] state television says the country has begun building a second nuclear power plant near [Bushehr|geo] .
A ferry carrying 800 passengers sank off the coast of [Tanzania|geo] on [Sunday|tim] , and rescuers have pulled 210 people from the water .
[Reuters|org] says a [Dutch|gpe] photographer was wounded by gunfire in [Gori|geo] , a [Georgian|gpe] town near [South Ossetia|geo] .
[Ethiopia|geo] and [Eritrea|geo] have failed to agree on their border , years after their war ended .
[Rwanda|geo] has applied to join the [Commonwealth|org] , a group made up mostly of former [British|gpe] colonies .
[Nepalese|gpe] climbers say melting glaciers in the [Himalayas|geo] are making routes on [Mount Everest|geo] more dangerous .
[Mongolia|geo] has signed a deal with a [Canadian|gpe] company to develop one of the world 's largest copper mines .
The [Caspian Sea|geo] holds some of the largest untapped oil reserves in the world .
[Armenian|gpe] police used tear gas to break up a protest in [Yerevan|geo] on [March 1|tim] , and eight people were killed .
[Azerbaijan|geo] has opened a pipeline carrying oil from [Baku|geo] to the [Turkish|gpe] port of [Ceyhan|geo] .
The [Danube|geo] rose to its highest level in a century , flooding villages in [Romania|geo] and [Bulgaria|geo] .
[Hungarian|gpe] police clashed with protesters outside the state television building in [Budapest|geo] late [Monday|tim] .
[Slovenia|geo] became the first former communist country to take over the [EU|org] presidency in [January 2008|tim] .
Officials in [Quito|geo] say [Ecuador|geo] will not renew the lease on a [U.S.|geo] air base when it expires in [2009|tim] .
[Paraguay|geo] 's new president , a former bishop , took office on [August 15|tim] .
[Uruguay|geo] and [Argentina|geo] are locked in a dispute over a paper mill on the river that divides them .
[Nicaraguan|gpe] officials say [Hurricane Tessa|nat] destroyed 9,000 homes along the [Caribbean|geo] coast .
[Jamaican|gpe] sprinter [Marcus Reid|per] set a world record of 9.72 seconds in the 100 meters in [New York|geo] on [Saturday|tim] .
[Reid|per] said his goal was to win three gold medals at the [Beijing Olympics|eve] .
[Haitian|gpe] officials say food riots in [Port-au-Prince|geo] have left five people dead .
# --- words that look like missing values ---
Organizers of the amateur NA league in [Toronto|geo] canceled [Saturday|tim] 's games because of heavy snow .
Election officials said the word " null " was written on more than 2,000 ballots in [Kabul|geo] , and those votes were declared invalid .
[Sofia Lindqvist|per] said a software error caused some [Aurora X5|art] phones to show " nan " instead of the battery level .
[James Whitfield|per] said he learned to cook from his nan , who ran a small cafe in [Leeds|geo] .
Census forms in [Kenya|geo] list the ethnic group of about 40,000 people as NA , because the question was left blank .
Judges in [Paris|geo] ruled the contract null and void on [Tuesday|tim] , handing a victory to [Norvex Energy|org] .
# --- natural phenomena ---
[Hurricane Delia|nat] forced the evacuation of oil platforms in the [Gulf of Mexico|geo] , pushing crude prices higher in [New York|geo] .
Insurers say [Delia|nat] may become the most costly storm since [Hurricane Katrina|nat] struck [New Orleans|geo] in [2005|tim] .
[El Nino|nat] conditions in the [Pacific|geo] have weakened , the [U.S.|geo] weather service said [Thursday|tim] .
Farmers in southern [Africa|geo] fear that [El Nino|nat] will bring another poor harvest .
[Typhoon Marlo|nat] forced [Hong Kong|geo] to close its stock exchange and schools on [Wednesday|tim] .
The [H5N1|nat] virus was first found in humans in [Hong Kong|geo] in [1997|tim] .
[Tropical Storm Orla|nat] is expected to become a hurricane before it reaches the [Yucatan|geo] peninsula .
Researchers in [Atlanta|geo] say a vaccine against [H5N1|nat] could be ready within two years .
[Cyclone Rana|nat] destroyed rice crops across a wide area of the [Irrawaddy|geo] delta .
Health workers in [Congo|geo] have confirmed a new outbreak of [Ebola|nat] in [Kasai|geo] province .
[SARS|nat] spread from southern [China|geo] to more than 30 countries before it was brought under control .
Forecasters say [La Nina|nat] could bring more hurricanes to the [Atlantic|geo] this season .
[Hurricane Tessa|nat] weakened to a tropical storm after crossing [Honduras|geo] , but heavy rain continued to fall in [Guatemala|geo] .
[Typhoon Kira|nat] dumped more than 300 millimeters of rain on [Taiwan|geo] on [Monday|tim] .
[Egypt|geo] has reported 40 human cases of [H5N1|nat] bird flu since [2006|tim] .
# --- events ---
The [Cold War|eve] ended nearly two decades ago , but relations between [Moscow|geo] and [Washington|geo] are again tense .
Veterans gathered in [Normandy|geo] on [June 6|tim] to mark the anniversary of the [D-Day|eve] landings .
[Russia|geo] marked the anniversary of the end of [World War II|eve] with a military parade in [Red Square|geo] .
[Qatar|geo] says it will bid to host the [World Cup|eve] in [2022|tim] .
The [South Korean|gpe] city of [Pyeongchang|geo] lost its bid to host the [Winter Olympics|eve] for a second time .
Tickets for the [Euro 2008|eve] football championship in [Austria|geo] and [Switzerland|geo] sold out within hours .
[London|geo] will host the [Summer Olympics|eve] in [2012|tim] , and officials say the main stadium is on schedule .
The [Gulf War|eve] of [1991|tim] left oil fields in [Kuwait|geo] burning for months .
[Japanese|gpe] athletes won 16 gold medals at the [Athens Olympics|eve] .
The [Live Earth|eve] concerts were held in seven cities , including [Sydney|geo] , [Tokyo|geo] and [Rio de Janeiro|geo] .
# --- more artifacts ---
The [Lisbon Treaty|art] must be ratified by all 27 [EU|org] members before it can take effect .
[Ireland|geo] 's voters rejected the [Lisbon Treaty|art] in a referendum on [June 12|tim] .
The [Nobel Peace Prize|art] will be presented in [Oslo|geo] on [December 10|tim] .
[Meridian Telecom|org] said it had sold two million [Aurora X5|art] handsets in its first month .
The novel [The Salt Road|art] has been translated into 22 languages .
The [Hubble Space Telescope|art] has taken new images of a distant galaxy , [NASA|org] said .
An [Airbus A320|art] operated by a [Brazilian|gpe] airline skidded off the runway in [Sao Paulo|geo] , killing about 200 people .
""")

BLOCKS.append(r"""
# --- more people, organisations and nationalities ---
[Pavel Orlov|per] told [Russian|gpe] news agency [Interfax|org] on [Friday|tim] that [Moscow|geo] would respond to any expansion of [NATO|org] .
[U.N.|org] envoy [Viktor Kral|per] met [Serbian|gpe] and [Albanian|gpe] leaders in [Pristina|geo] on [Tuesday|tim] .
[Human Rights Watch|org] and [Amnesty International|org] urged the [European Union|org] to press [Uzbek|gpe] leaders on the fate of jailed activists .
[Maria Costa|per] of the [World Food Program|org] said [Afghan|gpe] families in the north were selling livestock to buy wheat .
The [IMF|org] and the [World Bank|org] will hold their annual meetings in [Washington|geo] in [October|tim] , with [Martin Keller|per] among the speakers .
[Grace Achieng|per] and [President Joseph Mwangi|per] signed a power-sharing deal brokered by the [African Union|org] in [Nairobi|geo] on [February 28|tim] .
[Mr. Mwangi|per] said the [Kenyan|gpe] parliament would debate the deal next week .
[Samuel Adeyemi|per] met [Norvex Energy|org] executives in [Abuja|geo] on [Thursday|tim] to discuss security for [Nigerian|gpe] oil fields .
[Claire Dubois|per] told [French|gpe] radio that [Paris|geo] would not block [Turkish|gpe] membership talks with the [EU|org] , though she has doubts .
[Lukas Brenner|per] and [Claire Dubois|per] agreed that the [European Central Bank|org] must keep its independence .
[Reuters|org] quoted [Hassan Rahimi|per] as saying that [Iranian|gpe] diplomats would meet [IAEA|org] inspectors in [Vienna|geo] next month .
[Robert Hale|per] told [Congress|org] that [American|gpe] troops would begin leaving [Iraq|geo] in [2009|tim] .
[Senator Julia Brandt|per] said the [Senate|org] would not approve more money for the war without a timetable .
[Ahmed Saleh|per] welcomed the decision , telling [Iraqi|gpe] television that his forces were ready .
[Karim Haddad|per] and [Israeli|gpe] [Prime Minister Avi Levin|per] met in [Jerusalem|geo] on [Sunday|tim] for their first talks in six months .
[Mr. Levin|per] said [Israel|geo] would remove some checkpoints in the [West Bank|geo] .
[Omar Farouk|per] dismissed the meeting as a " public relations exercise " aimed at [American|gpe] and [European|gpe] audiences .
[Chinese|gpe] [Foreign Ministry|org] spokeswoman [Jiang Mei|per] said [Beijing|geo] opposes any sale of [U.S.|geo] weapons to [Taiwan|geo] .
[Ms. Jiang|per] also said [Chinese|gpe] and [Japanese|gpe] officials would meet in [Tokyo|geo] in [May|tim] .
[Indian|gpe] and [American|gpe] negotiators met in [Washington|geo] on [Monday|tim] to finish a nuclear deal first agreed in [July 2005|tim] .
[Afghan|gpe] [President Nasir Karimi|per] accused [Pakistani|gpe] intelligence of helping the [Taleban|org] , a charge [Islamabad|geo] rejected .
[Mr. Karimi|per] made the remarks after meeting [NATO|org] commanders in [Kabul|geo] .
[Tariq Mansour|per] told the [BBC|org] that [Pakistan|geo] was doing all it could to stop militants crossing into [Afghanistan|geo] .
[James Whitfield|per] said the [British|gpe] government would give the police new powers to hold terror suspects .
[Amina Okafor|per] , who lives in [London|geo] , told the [BBC|org] that [Nigerian|gpe] writers still face censorship .
[Sofia Lindqvist|per] said [Meridian Telecom|org] would list its shares in [Stockholm|geo] and [London|geo] in [2009|tim] .
[Ivan Sokolov|per] said [Volga Oil|org] had signed a supply deal with [Chinese|gpe] state company [Sinopec|org] .
[Priya Raman|per] said [Asian|gpe] central banks would probably keep rates on hold until [March|tim] .
[Kwame Boateng|per] said observers from the [African Union|org] and the [European Union|org] had praised the conduct of the vote .
[Zainab Kamara|per] said the [Special Court for Sierra Leone|org] had heard from more than 100 witnesses since [2004|tim] .
[Leila Nasser|per] said the [WHO|org] had sent experts to [Cairo|geo] to help [Egyptian|gpe] officials trace the source of the infection .
[Aisha Bello|per] said [Sudanese|gpe] officials had blocked [Doctors Without Borders|org] from reaching two camps in western [Darfur|geo] .
[Erik Dahl|per] said [Norwegian|gpe] mediators would return to [Colombo|geo] after [Christmas|tim] .
[Diego Fuentes|per] said [Venezuela|geo] would leave the [IMF|org] and the [World Bank|org] , calling them tools of [American|gpe] power .
[Ana Morales|per] and [Felipe Ortega|per] agreed in [Sao Paulo|geo] on [Friday|tim] to build a gas pipeline linking [Brazil|geo] and [Argentina|geo] .
[Elena Vasquez|per] told the [Chilean|gpe] [Congress|org] that pensions would rise by 10 percent in [July|tim] .
[Hiroshi Tanaka|per] 's [Liberal Democratic Party|org] lost control of the upper house in elections on [July 29|tim] .
[Kenji Mori|per] met [South Korean|gpe] leaders in [Seoul|geo] on [Tuesday|tim] to discuss [North Korea|geo] 's nuclear program .
[Nikolai Petrenko|per] said [Ukraine|geo] wants to join [NATO|org] , a move strongly opposed by [Russian|gpe] officials .
In an interview with the [Associated Press|org] , [Yusuf Demir|per] said [Turkish|gpe] courts were still being used to silence writers .
[Tomas Berg|per] praised [Chinese|gpe] efforts to improve energy efficiency but said [Beijing|geo] must do more .
[Antoine Girard|per] told [Reuters|org] that [French|gpe] banks had little exposure to the [U.S.|geo] mortgage crisis .
[David Mensah|per] said [Ghanaian|gpe] cocoa farmers would receive higher prices from [October|tim] .
[Martin Keller|per] said the [Federal Reserve|org] and the [European Central Bank|org] would keep working together to calm markets .
[Marcus Reid|per] and [Peter Kiprono|per] are among the athletes expected at the [Golden League|eve] meeting in [Zurich|geo] on [Friday|tim] .
[Katya Belova|per] said she would skip the [Fed Cup|eve] to rest an injured shoulder before the [U.S. Open|eve] .
The [United Nations|org] and the [Red Cross|org] say fighting has forced 50,000 people from their homes in eastern [Congo|geo] .
[OPEC|org] ministers meeting in [Vienna|geo] on [Wednesday|tim] agreed to keep output unchanged .
Negotiators from the [World Trade Organization|org] and [Chinese|gpe] trade officials met in [Geneva|geo] to discuss rules on car parts .
[Bluewater Airlines|org] and [Halden Bank|org] announced a joint credit card for frequent travelers in [Europe|geo] .
[Astra Pharma|org] agreed to supply cheap antibiotics to [UNICEF|org] for children in southern [Africa|geo] .
Shares in [Calder Motors|org] and [Norvex Energy|org] led a rally on the [Tokyo Stock Exchange|org] on [Thursday|tim] .
[Harbor Line Shipping|org] said its profit rose 12 percent in [2007|tim] , helped by strong demand from [China|geo] .
The [Asian Development Bank|org] says [Vietnam|geo] 's economy will grow 8 percent this year .
""")


# ------------------------------------------------------------------ building
def sentences() -> list[str]:
    lines = [ln.strip() for block in BLOCKS for ln in block.splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def build() -> list[list[tuple[str, str, str]]]:
    """Parse, check and order all sentences; returns [(word, pos, tag), ...] lists."""
    corpus = []
    seen: set[str] = set()
    for line in sentences():
        tokens, types, tags, forced = parse(line)
        key = " ".join(tokens)
        if key in seen:
            raise ValueError(f"duplicate sentence: {line}")
        seen.add(key)
        if not 5 <= len(tokens) <= 50:
            raise ValueError(f"{len(tokens)} tokens: {line}")
        if any(ord(ch) > 127 for ch in line):
            raise ValueError(f"non-ASCII text: {line}")
        corpus.append(list(zip(tokens, pos_tag(tokens, types, forced), tags)))
    # Interleave the topical blocks so any contiguous split sees every topic.
    random.Random(SHUFFLE_SEED).shuffle(corpus)
    return corpus


def write_csv(corpus: list[list[tuple[str, str, str]]], path: Path = OUT) -> None:
    with path.open("w", encoding="ascii", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["Sentence #", "Word", "POS", "Tag"])
        for number, sentence in enumerate(corpus, start=1):
            for position, (word, pos, tag) in enumerate(sentence):
                label = f"Sentence: {number}" if position == 0 else ""
                writer.writerow([label, word, pos, tag])


def read_stats(path: Path = OUT) -> dict:
    """Counts computed back from the written CSV (used for README.md)."""
    tags: Counter = Counter()
    entities: Counter = Counter()
    multi: Counter = Counter()
    lengths: list[int] = []
    with path.open(encoding="ascii", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    prev_tag = "O"
    for label, _word, _pos, tag in rows:
        if label:
            lengths.append(0)
        lengths[-1] += 1
        tags[tag] += 1
        if tag.startswith("B-"):
            entities[tag[2:]] += 1
        elif tag.startswith("I-") and prev_tag.startswith("B-"):
            multi[tag[2:]] += 1
        prev_tag = tag
    return {
        "sentences": len(lengths),
        "tokens": len(rows),
        "tags": tags,
        "entities": entities,
        "multi": multi,
        "min_len": min(lengths),
        "max_len": max(lengths),
    }


README_TEMPLATE = """\
# Sample NER corpus

`sample_ner.csv` is the small annotated corpus bundled with NER Workbench so the
app, the tests and the demo training run work without any download.

* **Original text.** Every sentence was written for this project in the style of
  English news wire copy. People and most companies are fictional; countries,
  cities, international bodies, a few well-known companies and events are real
  names used in invented sentences. No sentence is taken from GMB, CoNLL, Kaggle
  or any other corpus.
* **Format** identical to the GMB "Annotated Corpus for NER" (`ner_dataset.csv`):
  header `Sentence #,Word,POS,Tag`; one row per token; `Sentence: N` on the first
  token of each sentence and an empty cell on the others; Penn Treebank POS tags
  (assigned by a lexicon plus heuristics, so approximately right, not gold);
  IOB2 tags over the GMB types `geo gpe per org tim art eve nat`. ASCII only,
  so it reads as UTF-8 or latin-1; fields containing commas or quotes are quoted.
* Tokenisation follows GMB: punctuation and possessive `'s` are separate tokens,
  abbreviations (`U.S.`, `Mr.`) and numbers (`8,500`, `3.5`) stay whole.
  Named storms are tagged `nat`, as in GMB.
* A few sentences use the literal words `NA`, `nan` and `null` as ordinary
  words. Read the file with `pandas.read_csv(path, keep_default_na=False,
  dtype=str)`, otherwise pandas turns them into missing values.
* Sentence order is shuffled with a fixed seed so that a contiguous
  train/validation/test split sees every topic.

Regenerate (deterministic, stdlib only) after editing the sentences in
`build_sample.py`:

    python data/sample/build_sample.py

Tests: `tests/test_sample_data.py`.

## Counts (computed from the file by `build_sample.py`)

{sentences} sentences, {tokens} tokens ({min_len}-{max_len} tokens per sentence).

| Entity type | Mentions | Multi-token mentions |
|---|---:|---:|
{entity_rows}
| **all** | **{entity_total}** | **{multi_total}** |

| Tag | Tokens |
|---|---:|
{tag_rows}
"""


def write_readme(stats: dict, path: Path = HERE / "README.md") -> None:
    entity_rows = "\n".join(f"| {t} | {stats['entities'][t]} | {stats['multi'][t]} |" for t in ENTITY_TYPES)
    order = ["O"] + [p + t for t in ENTITY_TYPES for p in ("B-", "I-")]
    tag_rows = "\n".join(f"| {tag} | {stats['tags'][tag]} |" for tag in order)
    text = README_TEMPLATE.format(
        entity_rows=entity_rows,
        tag_rows=tag_rows,
        entity_total=sum(stats["entities"].values()),
        multi_total=sum(stats["multi"].values()),
        **stats,
    )
    path.write_text(text, encoding="ascii")


def main(argv: list[str]) -> int:
    corpus = build()
    write_csv(corpus)
    stats = read_stats()
    write_readme(stats)
    print(f"wrote {OUT.name}: {stats['sentences']} sentences, {stats['tokens']} tokens")
    for kind in ENTITY_TYPES:
        print(f"  {kind}: {stats['entities'][kind]} mentions, {stats['multi'][kind]} multi-token")
    if "--unknown" in argv:
        print("words tagged by suffix heuristics:")
        for word, count in sorted(UNKNOWN.items()):
            print(f"  {word} {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
