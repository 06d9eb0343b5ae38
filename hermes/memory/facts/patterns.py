"""Compiled regular expressions and word sets for the rule-based fact extractor.

Everything here is data: the markers `hermes.memory.facts.extract` looks for in a sentence
(durability, scope, hedges, corrections) and the patterns `hermes.memory.facts.clauses`
anchors at the start of a clause. Patterns are lowercase and case-sensitive: they
run on lowercased text. They are compiled once, at import.
"""

from __future__ import annotations

import re
from typing import Final

# --- nouns ------------------------------------------------------------------------
# Heads of noun phrases that name a project setting ("the port is 8080").
PROJECT_NOUNS: Final = re.compile(
    r"\b(?:ports?|database|db|branch|url|host(?:name)?|domain|region|cluster|registry|"
    r"env var|environment variable|config(?:uration)?|settings|formatter|linter|"
    r"test runner|tests|test suite|suite|lint|ci|pipeline|builds?|deploys?|deployments?|"
    r"python|node|runtime|framework|orm|broker|cache|queue|frontend|backend|api|"
    r"server|docs|documentation|package|monorepo|language|migrations|dependencies|"
    r"lockfile|line length|limit|indentation|schema|bucket|base image|image|staging|"
    r"production|prod|type checker|version|entry ?point|secrets|workers?|scheduler|"
    r"cron|container|stack|infra(?:structure)?|release|releases|changelog|style guide|"
    r"editor ?config|code style|tooling|app server|web server|proxy|load balancer|"
    r"storage|auth|authentication|logs|logging)s?\b"
)
# Noun phrases too vague to be a subject themselves; the value names the subject.
GENERIC_NOUNS: Final = frozenset(
    "project repo repository codebase code app application service services it this "
    "everything stack backend server".split()
)
ENV_NOUNS: Final = re.compile(
    r"\b(?:editor|ide|shell|terminal|os|operating system|laptop|machine|computer|mac|pc|"
    r"box|setup|workstation|node(?: version)?|python(?: version)?|java|ruby|go|rust|"
    r"timezone|time zone|browser|default browser|git|local \w+|gpu|ram|memory|keyboard|"
    r"screen|monitor|display|network|connection|internet|proxy|version|distro|"
    r"font|locale|language)\b"
)
# People: a clause whose subject is one of these is reported speech.
PERSON_RE: Final = re.compile(
    r"^(?:(?:my|our|the|a|one of (?:my|our|the))\s+(?:\w+\s+)?"
    r"(?:colleagues?|co-?workers?|teammates?|team ?lead|tech lead|lead|manager|boss|"
    r"friends?|designers?|cto|ceo|pm|product manager|maintainers?|developers?|"
    r"engineers?|reviewers?|interns?|contractors?|clients?|customers?|users?|authors?|"
    r"admins?|ops team|tester|architect|mentor|predecessor)\b"
    r"(?!\s+(?:server|environment|box|machine|builds?|branch|dependencies|deps|mode|tools?|"
    r"container|database|db|setup|stack|instance|port|docs|guide|portal|account))|"
    r"(?:he|she|they|someone|somebody|everyone|everybody|people|nobody|no one|one of them)\b)"
)

# --- sentence-level markers -------------------------------------------------------
# Durability: the instruction outlives the task at hand.
DURABLE_RE: Final = re.compile(
    r"\b(?:always|never|ever|from now on|going forward|in (?:the )?future|from here on(?: out)?|"
    r"every ?time|whenever|by default|in general|as a rule|at all times|everywhere|"
    r"for (?:all|any|every)\b|any new|anything that|every new|all new|"
    r"in this (?:codebase|repo|repository|project)|across the|consistently|"
    r"(?:each|every) (?:new )?(?:file|module|function|commit|pr|time)|"
    r"(?:where|wherever|whenever|when) possible|as much as possible)\b"
)
# Substrings one of which any match of the marker regex below contains (cheap precheck).
DURABLE_HINT_RE: Final = re.compile(
    r"ever|always|from now|forward|future|from here|time|default|general|rule|for all|"
    r"for any|any new|anything|all new|in this|across the|consistent|each|possible"
)
# The verbs of SPEECH_VERB_RE as words (with trailing punctuation), for a set check.
SPEECH_WORDS: Final = frozenset(
    w + p
    for w in (
        "says said say think thinks thought mentioned mentions told tells wrote writes claim "
        "claims claimed suggest suggests suggested recommend recommends recommended believe "
        "believes insist insists argue argues argued reckon reckons asked wants wanted stated "
        "reads"
    ).split()
    for p in ("", ",", ":")
)
# A clause can only match NP_RE if one of its verbs follows a space.
NP_HINT_RE: Final = re.compile(
    r" (?:is|are|get|run|live|go|listen|use|target|sit|point|require|need|happen)"
)
TRANSIENT_HINT_RE: Final = re.compile(r"here|this|that|now|once|moment|temporar|today|yet|mind")
# Scoped to the task at hand: "here", "for now", "in this file", "for this PR".
TRANSIENT_RE: Final = re.compile(
    r"\b(?:(?<!from )here(?! on\b)|this time|for now|right now|just this once|this once|for the moment|"
    r"for the time being|at the moment|temporarily|today|yet|never mind|nevermind|"
    r"(?:for|in|on) this (?:one )?(?:task|pr|change|one|fix|ticket|step|bug|issue|session|"
    r"branch|commit|file|function|method|class|script|test|debugging session|run|call|case)|"
    r"this (?:one )?(?:file|function|method|class|script|test)|that file|that function|"
    r"in this one)\b"
)
# No leading \b: literal-first alternatives let ``re`` skip ahead (a stray hit inside
# a word only drops a fact, it never adds one).
HEDGE_RE: Final = re.compile(
    r"(?:maybe|perhaps|might|ideally|eventually|at some point|someday|some day|"
    r"considering|thinking about|thinking of|planning to|plan to|hoping to|"
    r"would be nice|could|in theory|hypothetically|we should|should we|"
    r"i thought|i think|i guess|i believe|i assume|not sure|probably|possibly|"
    r"wondering|if so|or not)\b"
)
# Any HEDGE_RE match contains one of these words (trailing punctuation allowed).
HEDGE_WORDS: Final = frozenset(
    w + p
    for w in (
        "maybe perhaps might ideally eventually someday considering could hypothetically "
        "probably possibly wondering point day thinking planning plan hoping nice theory "
        "should thought think guess believe assume sure so not"
    ).split()
    for p in ("", ",", ".", ";", ":", "?", "!")
)
CONDITIONAL_RE: Final = re.compile(
    r"^(?:if|suppose|supposing|assuming|assume|let's say|lets say|say|what if|imagine|"
    r"in case|unless|provided|once|when|whether|even if|as if)\b"
)
INTERROGATIVE_RE: Final = re.compile(
    r"^(?:what|which|why|how|where|who|whom|whose|do|does|did|is|are|was|were|can|could|"
    r"should|would|will|shall|have|has|had|am|may|any idea|anyone)\b"
)
# Leading words (``\w+`` run) that can start each anchored pattern: a cheap prefilter.
CONDITIONAL_FIRST: Final = frozenset(
    "if suppose supposing assuming assume let lets say what imagine in unless provided once "
    "when whether even as".split()
)
INTERROGATIVE_FIRST: Final = frozenset(
    "what which why how where who whom whose do does did is are was were can could should "
    "would will shall have has had am may any anyone".split()
)
POLITE_FIRST: Final = frozenset({"could", "can", "would", "will"})
COMMAND_FIRST: Final = frozenset(
    "the our unit integration e2e end all tests test lint linting builds build type "
    "typechecking formatting migrations docs benchmarks".split()
)
TAG_QUESTION_RE: Final = re.compile(
    r"(?:,\s*|\s)(?:right|correct|no|yes|yeah|isn't it|aren't we|don't we|doesn't it|"
    r"or not|or what|ok|okay)\s*\?\s*$"
)

# --- corrections ------------------------------------------------------------------
CORRECTION_START_RE: Final = re.compile(
    r"^(?:(?:sorry|oops|oh|ah|hmm+|wait|er+|um+|ugh)[,.!]?\s+)*(?P<marker>"
    r"actually\b[,:]?|no+\b(?:\s*[,.!;:—–-]+|\s+no+\b[,.!]*|\s+wait\b[,.!]*|\s*$)|"
    r"(?:that|this)(?:'s| is) not (?:how|what) (?:we|it|i)\b[^—–:,]*[—–:,]?|nope\b[,.!]?|nah\b[,.!]?|"
    r"not quite\b[,.!]?|wrong\b[,.!:]?|incorrect\b[,.!:]?|correction\b\s*[:,—–-]?|"
    r"i meant\b(?:\s+that)?|what i meant (?:is|was)\b|i mean\b[,]?|i misspoke\b[,.:]?|"
    r"let me correct (?:that|myself)\b[,.:]?|to be clear\b[,:]?|to clarify\b[,:]?|"
    r"you(?:'ve| have)? got it backwards\b[,.:]?|"
    r"(?:that|this|it)(?:'s| is| was) (?:wrong|not right|incorrect|not correct|not true|"
    r"outdated|out of date|stale|a mistake|backwards|not what i (?:said|meant))\b[,.:!]?|"
    r"(?=not\s+(?:\S+\s+){1,3}but\b))"
)
# Every match of CORRECTION_START_RE starts with one of these.
CORRECTION_PREFIXES: Final = tuple(
    "sorry|oops|oh|ah|hm|wait|er|um|ugh|actually|no|nah|not |wrong|incorrect|correction|"
    "i mean|i misspoke|what i meant|let me correct|to be clear|to clarify|you|that|this|"
    "it's|it is|it was".split("|")
)
CORRECTION_HEADS: Final = frozenset(p[:3] for p in CORRECTION_PREFIXES)
CORRECTION_TAIL_WORDS: Final = (
    "wrong",
    "outdated",
    "incorrect",
    "stale",
    "out of date",
    "right",
    "correct",
    "true",
)
CORRECTION_TAIL_RE: Final = re.compile(
    r"\b(?:is|are|was|were)\s+(?:\w+\s+)?(?:wrong|outdated|incorrect|stale|out of date|"
    r"not right|not correct|not true)\W*$"
)
NOT_BUT_RE: Final = re.compile(r"\bnot\s+(?:\S+\s+){1,3}?but\s+(?P<y>\S+)")
WRONG_NOUN_RE: Final = re.compile(r"^wrong\s+(?P<noun>[a-z][\w ]{1,20}?)\s*[—–:,-]")

# --- clause structure -------------------------------------------------------------
# Clause boundaries: punctuation (every alternative starts with a literal character, so
# ``re`` can skip ahead fast) and a bare conjunction before a new subject.
CLAUSE_SPLIT_RE: Final = re.compile(
    r";|[—–]|-(?<= -)(?= )|:(?<! is:)(?<! are:)(?=\s)|,(?=\s+(?:and|but|so|because|since|though|"
    r"although|while|whereas|then|which|i|i'm|we|we're|my|our|the|it|it's|this|please|always|"
    r"never|don't|do not|if|unless|there|that's|plus|also|just|all)\b)"
)
CONJ_SPLIT_RE: Final = re.compile(
    r" (?=(?:and|but|so)\s+(?:i|i'm|we|we're|my|our|the|it|please|always|never|don't)\b)"
)
# Every match of DISCOURSE_RE starts with one of these (a cheap str.startswith gate).
DISCOURSE_PREFIXES: Final = tuple(
    "and |but |so |also|plus|oh|ok|well|btw|by the way|fyi|for the record|for context|"
    "for reference|just|note|heads up|quick context|anyway|besides|locally|honestly|"
    "personally|basically|again|remember|keep in mind|in general|generally|as a rule|"
    "going forward|from now on|from here on|in future|in the future|please|pls|hey|hi|yeah|"
    "yes|sure|right|hm|um|er|to be |to clarify|overall|important|reminder|actually|nope|nah|"
    "sorry|oops|correction|i meant|i mean|i misspoke|wrong|incorrect|not quite|you've got|"
    "you got|you have got|that's|that is|that was|this is|this's|this was|it's|it is|it was|"
    "no|wait".split("|")
)
DISCOURSE_HEADS: Final = frozenset(p[:3] for p in DISCOURSE_PREFIXES)
DISCOURSE_RE: Final = re.compile(
    r"^(?:(?:and|but|so|also|plus|oh|ok(?:ay)?|well|btw|by the way|fyi|for the record|"
    r"for context|just so you know|note(?: that)?|heads up|quick context(?: before you start)?|"
    r"anyway|besides|locally|honestly|personally|basically|again|remember(?: that)?|"
    r"keep in mind(?: that)?|in general|generally|as a rule|going forward|from now on|"
    r"from here on(?: out)?|in (?:the )?future|please|pls|also note|just|hey|hi|yeah|yes|sure|"
    r"right|hmm+|um+|and also|for reference|to be safe|overall|important|reminder|"
    r"actually|nope|nah|to be clear|to clarify|sorry|oops|correction|i meant(?: that)?|"
    r"i mean|i misspoke|wrong|incorrect|not quite|you(?:'ve| have)? got it backwards|"
    r"(?:that|this|it)(?:'s| is| was) (?:wrong|not right|incorrect|not correct|not true|"
    r"outdated|out of date|stale|a mistake|backwards))(?:\s*[,:!.—–-]+\s*|\s+)|"
    r"no+(?:\s+no+)*(?:\s+wait)?\s*[,:!.—–-]+\s*|wait[,:!.]+\s*)+"
)
PRONOUN_OBJ_RE: Final = re.compile(r"^(?:them|it|that|this|those|these|one)\b")
OBJECT_CUT_RE: Final = re.compile(
    r",|\s(?:for|in|at|to|as|so|because|but|when|if|since|which|that|before|after|"
    r"unless|rather|instead|over|than)\s"
)
INFORMATIVE_RE: Final = re.compile(r"[0-9`~/]|\w[-_]\w|\.\w{2,4}\b|\b[A-Z]")
DETERMINERS_RE: Final = re.compile(
    r"^(?:(?:the|a|an|our|my|your|its|their|some|any|all|every|each|new|plain|"
    r"more|really|very|just|only|also|always|never)\s+)+"
)
STOP_WORDS: Final = frozenset(
    "a an the of for to in on at with by and or but over than instead rather from as "
    "into onto is are be it this that these those them me you your my our we i too also again "
    "first now please anyway everywhere always".split()
)

# --- fact patterns (anchored at the start of a clause) ----------------------------
ADV = r"(?:(?:really|strongly|much|generally|usually|definitely|personally|honestly|also|still|always|mostly|typically|just|do|very much|only|currently|now|mainly|primarily|normally)\s+)*"
PREF_I_RE: Final = re.compile(
    rf"^(?:i|i'd|i would|i'm|i am)\s+{ADV}(?P<verb>prefer|would prefer|'d prefer|like|love|want|"
    r"'d like|would like|'d rather|would rather|rather|favou?r|"
    r"(?:a\s+)?(?:big\s+|huge\s+)?fan of|partial to|care about|insist on|expect|"
    r"always want|need|hate|dislike|can't stand|don't like|do not like)\b\s*(?P<obj>.*)$"
)
MY_PREF_RE: Final = re.compile(
    r"^my\s+(?:strong\s+|personal\s+|general\s+|one\s+|golden\s+)?(?:preference|rule of thumb|"
    r"rule|convention|style|policy)\s+(?:is|would be)\s*:?\s+(?:to\s+|for\s+)?(?P<obj>.+)$"
)
IMPERATIVE_VERBS = (
    r"use|write|put|add|keep|prefer|default to|stick (?:to|with)|follow|run|format|name|"
    r"mark|include|avoid|make sure|ask|check|commit|push|document|test|sort|show|explain|"
    r"prefix|end|start|wrap|pin|squash|rebase|log|handle|return|type|annotate|indent|"
    r"limit|break|split|place|give|reply|respond|answer|lean towards|go with|call|"
    r"import|mock|raise|leave|create|suggest|open|remove|delete|update|bump|sign"
)
_IMPERATIVE_EXTRA = "adding|using|writing|putting|leaving|including|committing|pushing"
IMPERATIVE_RE: Final = re.compile(
    r"^(?:please\s+)?(?P<neg>(?:always|never|ever|don't\s+ever|don't|do\s+not|dont|"
    r"never\s+ever|stop|avoid|no\s+more)\s+)?(?:(?:ever|always|also|just|only|consistently)\s+)?"
    rf"(?P<verb>{IMPERATIVE_VERBS}|{_IMPERATIVE_EXTRA})\b\s*(?P<obj>.*)$"
)
# First words a clause can start with for each family of patterns (cheap dispatch).
IMPERATIVE_FIRST: Final = frozenset(
    alt.split()[0] for alt in f"{IMPERATIVE_VERBS}|{_IMPERATIVE_EXTRA}".replace("\n", "").split("|")
) | frozenset("please always never ever don't do dont stop avoid no just also only".split())
I_FIRST: Final = frozenset({"i", "i'm", "i'd", "i've", "i'll"})
WE_FIRST: Final = frozenset({"we", "we're", "we've", "we'd"})
THIS_FIRST: Final = frozenset({"this", "it", "it's", "this's", "we", "we're"})
# Cheap gate for PERSON_RE: a determiner, then one of these within the next words.
PERSON_DETERMINERS: Final = frozenset({"my", "our", "the", "a", "one"})
PERSON_PRONOUNS: Final = frozenset(
    "he she they someone somebody everyone everybody people nobody".split()
)
PERSON_NOUNS: Final = frozenset(
    w + p
    for w in (
        "colleague colleagues coworker coworkers co-worker co-workers teammate teammates team "
        "teamlead tech lead manager boss friend friends designer designers cto ceo pm product "
        "maintainer maintainers developer developers engineer engineers reviewer reviewers "
        "intern interns contractor contractors client clients customer customers user users "
        "author authors admin admins ops tester architect mentor predecessor"
    ).split()
    for p in ("", ",", ".", ";", ":")
)
NEG_IMPERATIVE_VERBS: Final = re.compile(
    r"^(?:use|using|add|adding|write|writing|put|putting|include|including|leave|leaving|"
    r"commit|committing|push|pushing|mix|hardcode|import|catch|create|suggest|rely|mock|"
    r"generate|reformat|rename)$"
)
COMPARATIVE_RE: Final = re.compile(
    r"\b(?:instead of|rather than|over|better than|more than|in place of|not)\b"
)
LINE_LENGTH_RE: Final = re.compile(
    r"\b(?:no more than|max(?:imum)?(?: of)?|at most|up to|under|below|keep lines (?:under|below))"
    r"\s+\d{2,3}\s+(?:characters|chars|columns|cols)\b"
)
WE_RE: Final = re.compile(
    rf"^we(?P<c>'re|'ve| are| have)?\s+{ADV}(?P<verb>use|using|run|running|deploy|deploying|"
    r"build|building|host|hosting|follow|following|target|targeting|ship|rely on|have|pin|"
    r"tag|store|keep|switched|moved|migrated|write|writing|test|lint|format|package|"
    r"release|on|develop|support|vendor|manage|track|squash|rebase|merge|publish|deploy|"
    r"stick to|standardi[sz]ed on|went with|chose|picked|adopted|code in|work in|"
    r"require|enforce|generate)\b\s*(?P<obj>.*)$"
)
NP_RE: Final = re.compile(
    r"^(?P<det>the|our|this|its|all)?\s*(?P<np>[\w.\-/ ]{1,40}?)\s+"
    r"(?P<verb>(?:is|are|gets?)(?:\s+(?:now|still|currently|always|also|only|all))?"
    r"(?:\s+(?:written|built|formatted|managed|handled|pinned|published|deployed|hosted|"
    r"configured|called|named|generated|stored|kept|defined|located|run|done|installed|"
    r"tracked|set|served|checked|linted|tested|compiled|bundled|packaged|released|"
    r"documented|cut|set up|driven|powered|backed|based|reset|made|\w+ed))?|runs?|lives?|go|goes|listens|"
    r"uses?|targets?|sits?|points? to|requires?|needs|happens?)\b\s*(?P<rest>.*)$"
)
THIS_IS_A_RE: Final = re.compile(
    r"^(?:this|it|we)(?:'s| is|'re| are)\s+an?\s+(?P<obj>(?:[\w.\-+]+\s+){0,3}?"
    r"(?:project|app|application|repo|repository|monorepo|codebase|service|library|"
    r"package|cli|api|website|site|backend|frontend|shop|team|company|house|org)\b.*)$"
)
MY_RE: Final = re.compile(
    r"^my\s+(?P<np>[\w.\- ]{1,30}?)(?:\s+(?P<verb>is|are|has|have|runs?|uses?)\b|(?P<verb2>'s))\s*(?P<rest>.*)$"
)
I_ENV_RE: Final = re.compile(
    rf"^(?:i'm|i am)\s+{ADV}(?P<verb>on|using|running|working (?:on|in|over|with|from)|"
    r"developing (?:on|in|with)|in|coding (?:in|on))\b\s*(?P<obj>.*)$|"
    rf"^i\s+{ADV}(?P<verb2>use|run|have|code (?:in|on|with)|develop (?:on|in|with)|"
    r"work (?:on|in|with|from)|live in|type on)\b\s*(?P<obj2>.*)$"
)
COMMAND_NOUN_RE: Final = re.compile(
    r"^(?:the\s+|our\s+)?(?P<np>(?:unit |integration |e2e |end-to-end |all )?tests?|"
    r"(?:the )?test suite|lint(?:ing)?|the linter|builds?|type ?checking|formatting|"
    r"migrations|the (?:app|server|dev server)|docs|benchmarks)\s+"
    r"(?:are |is )?(?:run|runs|run with|runs with|is run with|are run with|is done with|"
    r"are done with|happen with|go through|run via|runs via|(?:is |are )?(?:built|run|started|started up) "
    r"(?:with|via|using|by))\b\s*(?P<rest>.+)$"
)
PORT_RE: Final = re.compile(
    r"\bport(?:\s+number)?\s*(?:is\s+|'s\s+|=\s*|:\s*|of\s+)?(?P<n>\d{2,5})\b|"
    r"\blocalhost:(?P<n2>\d{2,5})\b"
)
DEPLOY_VERB_RE: Final = re.compile(r"^(?:deploy|deploying|ship|host|hosting)\b")
SWITCH_VERB_RE: Final = re.compile(
    r"^(?:switched|moved|migrated|went with|chose|picked|adopted|standardi[sz]ed on)\b"
)


# --- clause checks ----------------------------------------------------------------
# A value that describes a state, not a setting: "the build is broken".
STATE_WORDS_RE: Final = re.compile(
    r"^(?:(?!using\b)\w+ing(?=\s|$)|broken|down|up|slow|fast|flaky|wrong|fine|ok|okay|done|"
    r"ready|missing|empty|gone|green|red|there|here|too|very|so|quite|pretty|still|weird|odd|"
    r"a mess|messy|huge|big|small|ugly|old|stale|the problem|the issue|what|why|how|like)\b"
)
# Noun phrases that cannot name a setting.
NP_BAD_RE: Final = re.compile(
    r"\b(?:i|we|you|he|she|they|it|that|there|here|what|which|who|not|no|never|"
    r"one|thing|problem|issue|error|bug|question|title|message|quote|comment|snippet|"
    r"function|output|result)\b|n't"
)
IT_PORT_RE: Final = re.compile(r"^(?:it|that|this)(?:'s| is| runs| listens| lives| serves)\b")
PORT_NEG_RE: Final = re.compile(r"n't\b|\b(?:not|no longer|never)\b")
LIKE_MY_RE: Final = re.compile(r"^(?:my|our|it when|when)\b")
KEEP_STYLE_RE: Final = re.compile(
    r"\b(?:short|shorter|simple|small|smaller|minimal|concise|brief|lean|tidy|consistent|"
    r"readable|focused|flat|narrow|under \d+|below \d+)\b"
)
INSTEAD_RE: Final = re.compile(r"\b(?:instead of|rather than)\b")
USE_OVER_RE: Final = re.compile(r"\b(?:instead of|rather than|over)\b")
POLITE_RE: Final = re.compile(r"^(?:could|can|would|will)\s+you\s+(?:please\s+)?(?:,\s*)?")
POLITE_EXCLUDE_RE: Final = re.compile(r"^(?:prefer|like|rather|want|think|say)\b")
NO_NOUN_RE: Final = re.compile(r"^no\s+(?!one\b|longer\b|more\b)[a-z]")
NEG_START_RE: Final = re.compile(r"^(?:not|n't|no longer|never|no)\b")
CALLED_RE: Final = re.compile(r"\b(?:called|named)$")
# "Dave thinks ...", "the docs say ...": reported speech (a speaker, then a verb).
SPEECH_VERB_RE: Final = re.compile(
    r"\s+(?:\w+ly\s+|always\s+|also\s+|still\s+|just\s+)?"
    r"(?:says|said|say|thinks?|thought|mentioned|mentions|told|tells|wrote|writes|claims?|"
    r"claimed|suggests?|suggested|recommends?|recommended|believes?|insists?|argues?|"
    r"argued|reckons?|asked|wants|wanted|stated|reads)\b"
)
SPEAKER_RE: Final = re.compile(r"[\w'.\- ]{1,40}")
# "Sarah always uses vim": needs the original case to see a name.
NAME_VERB_RE: Final = re.compile(
    r"^(?P<name>[A-Z][a-z]+)\s+(?:\w+ly\s+|always\s+|also\s+|still\s+|never\s+)?"
    r"(?:prefers|preferred|likes|liked|uses|used|loves|hates|swears by|wants|insists)\b"
)
# The verbs of NAME_VERB_RE, as the second or third word of a clause.
NAME_VERBS: Final = frozenset(
    "prefers preferred likes liked uses used loves hates swears wants insists".split()
)
NOT_SPEAKERS: Final = frozenset(
    "don't do not never always please to you i we should would can will ever just also "
    "and so but or then".split()
)
CONTRAST_START_RE: Final = re.compile(r"^(?:but|however|though|whereas|while|yet)\b")
DURABLE_VERBS_RE: Final = re.compile(r"^(?:prefer|default to|stick (?:to|with)|lean towards)$")
USE_VERBS: Final = frozenset({"use", "using", "write", "prefer"})
EVERY_RE: Final = re.compile(r"\b(?:every|all|always|each|any)\b")
ENV_CUT_RE: Final = re.compile(
    r",|;|\s(?:for|so|because|but|if|since|which|that|instead|rather|via|through|installed|"
    r"managed|from|when|to)\s"
)
ON_OS_RE: Final = re.compile(
    r"\bon\s+((?:mac\s?os|windows|linux|ubuntu|debian|fedora|arch|wsl2?)\b[\w. ]*?)\s*[,.]?$",
    re.IGNORECASE,
)
GENERIC_MACHINE: Final = frozenset("laptop machine computer setup box workstation pc mac".split())
SWITCH_TARGET_RE: Final = re.compile(r"\b(?:to|on|with)\s")
