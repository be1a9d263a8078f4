"""The default text generator: template-based post drafts, no model, no network.

``OfflineTextGenerator`` composes drafts from hand-written phrase templates in
seven languages (en, es, fr, de, pt, it, he). It is honest about what it is: the
result carries ``generator="offline-composer"`` so the core can label the drafts
as templates, while the post text itself stays free of any marker.

How a call is composed:

* the *topic* is the prompt with instruction boilerplate ("Write a post about …")
  stripped, cut to its first sentence;
* every suggestion takes a different *angle* (tips list, question hook,
  behind-the-scenes, offer, story, myth-vs-fact), so titles and bodies within a
  call always differ; a RNG seeded from the prompt and business picks which
  angles and phrase variants are used, so the same input gives the same output;
* the body is laid out for the content format (TEXT long, STORY short, CAROUSEL
  five slides, VIDEO/REEL a hook plus shot list);
* a content DNA string such as ``"tone: playful; emoji: frequent"`` selects the
  call-to-action register and how many emoji are used.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from dataclasses import dataclass

from .base import ContentFormat, DraftSuggestion, GeneratedText, TextRequest

ANGLES = ("tips", "question", "behind", "offer", "story", "myth")
MAX_SUGGESTIONS = len(ANGLES)
TITLE_MAX = 80
TOPIC_MAX = 120
CAROUSEL_SLIDES = 5

_ANGLE_EMOJI = {
    "tips": "💡",
    "question": "🤔",
    "behind": "👀",
    "offer": "🎉",
    "story": "📖",
    "myth": "✅",
}


@dataclass(frozen=True)
class _Angle:
    """One angle's phrases. Placeholders: {topic} {name} {kind} {industry}."""

    title: str
    hook: str
    intro: str
    points: tuple[str, str, str]
    tag: str


@dataclass(frozen=True)
class _Language:
    code: str
    angles: dict[str, _Angle]
    ctas: dict[str, tuple[str, str]]  # tone -> two variants
    slide: str
    hook_label: str
    shots_label: str
    shot_kinds: tuple[str, str, str]
    closing_label: str
    visual: str  # image prompt; {headline} is the slide's text
    fallback_topic: str
    fallback_tags: tuple[str, str, str]
    # Function words: skipped when picking hashtag keywords, and counted (with
    # ``hint_chars``) to guess the language of a prompt.
    stopwords: frozenset[str]
    hint_chars: str
    # Instruction boilerplate in front of the actual topic.
    instruction: re.Pattern[str]


def _instruction(verbs: str, nouns: str, connectors: str) -> re.Pattern[str]:
    # "<verb> … <content noun> <connector> " within the first few words only, so
    # a prompt that merely starts with a verb ("Make our sale shine") is kept.
    return re.compile(
        rf"^\W*(?:{verbs})\b[^.!?\n]{{0,40}}?\b(?:{nouns})\s+(?:{connectors})\s+",
        re.IGNORECASE,
    )


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_EN = _Language(
    code="en",
    angles={
        "tips": _Angle(
            title="{topic}: 3 tips from {name}",
            hook="Want to get more out of {topic}? Here are three simple ideas.",
            intro="At {name}, we get asked about this all the time, so we put our best advice in one place.",
            points=(
                "Start simple: focus on the one thing that matters most to you.",
                "Ask questions: our team is happy to help you choose.",
                "Come back often: there's always something new to discover.",
            ),
            tag="tips",
        ),
        "question": _Angle(
            title="What do you really know about {topic}?",
            hook='Quick question: what\'s the first thing that comes to mind when you hear "{topic}"?',
            intro="We'd love to hear from you: your answers help us plan what we do next.",
            points=(
                "Tell us in the comments.",
                "Tag someone who should see this.",
                "We'll share the most interesting answers in a future post.",
            ),
            tag="community",
        ),
        "behind": _Angle(
            title="Behind the scenes at {name}: {topic}",
            hook="Ever wondered what happens behind the scenes at {name}?",
            intro="Here's a look at how our team works, from the first step to the finished result.",
            points=(
                "An early start: preparation begins before we open.",
                "Attention to detail at every step.",
                "A team that cares about getting it right.",
            ),
            tag="behindthescenes",
        ),
        "offer": _Angle(
            title="{topic}: don't miss it at {name}",
            hook="Here's a good reason to visit {name}: {topic}.",
            intro="We've been working on this for a while and we can't wait for you to try it.",
            points=(
                "Ask us for the details.",
                "Share it with a friend who'd love it.",
                "Save this post so you don't forget.",
            ),
            tag="dontmissit",
        ),
        "story": _Angle(
            title="{topic}: the story behind it",
            hook='Every business has a story. Here\'s ours about "{topic}".',
            intro="It started with a simple idea: do one thing well and share it with our community.",
            points=(
                "Where it began: a small idea and a lot of passion.",
                "What we learned along the way: listen to our customers.",
                "Where we're going next: more of what you love.",
            ),
            tag="ourstory",
        ),
        "myth": _Angle(
            title="{topic}: myth vs. fact",
            hook="There are a lot of myths about {topic}. Let's clear a few up.",
            intro="Here's what our experience in {industry} has taught us.",
            points=(
                "Myth: it's complicated. Fact: it's easier than you think.",
                "Myth: it's only for experts. Fact: everyone can enjoy it.",
                "Myth: it costs a fortune. Fact: there's an option for every budget.",
            ),
            tag="mythbusting",
        ),
    },
    ctas={
        "friendly": ("We'd love to see you at {name} soon!", "Questions? Just send us a message."),
        "playful": ("Your move: come say hi at {name}!", "Go on, tag a friend who needs to see this!"),
        "professional": (
            "Contact {name} to learn more.",
            "Our team is available to answer your questions.",
        ),
        "bold": ("Don't wait: visit {name} today!", "Ready? Message us now!"),
    },
    slide="Slide",
    hook_label="Hook",
    shots_label="Shots",
    shot_kinds=("Close-up", "Wide shot", "Detail"),
    closing_label="Closing",
    visual="{headline}. Bright, clean social media visual for {name} ({kind}, {industry}).",
    fallback_topic="what's new",
    fallback_tags=("smallbusiness", "shoplocal", "community"),
    stopwords=_words(
        "the and for our with this that about from your you are was were will have has"
        " on of to at is by my an be"
        " into onto over new more most very just what when where which who how why"
        " their them they its it's we're let's post posts write create make caption"
        " content carousel reel story video text ideas idea instagram facebook linkedin"
        " tiktok twitter threads social media please some week today"
    ),
    hint_chars="",
    instruction=_instruction(
        r"write|create|make|generate|draft|compose|prepare|give me|i need|we need|i want|we want",
        r"posts?|captions?|content|carousels?|reels?|stor(?:y|ies)|videos?|text|copy|ideas?|tweets?",
        r"about|on|for|promoting|announcing|featuring|regarding|around|of",
    ),
)

_ES = _Language(
    code="es",
    angles={
        "tips": _Angle(
            title="{topic}: 3 consejos de {name}",
            hook="¿Quieres sacarle más partido a «{topic}»? Aquí tienes tres ideas sencillas.",
            intro="En {name} nos preguntan por esto a menudo, así que hemos reunido nuestros mejores consejos en un solo lugar.",
            points=(
                "Empieza por lo sencillo: céntrate en lo que más te importa.",
                "Pregunta sin miedo: nuestro equipo te ayuda a elegir.",
                "Vuelve a menudo: siempre hay algo nuevo por descubrir.",
            ),
            tag="consejos",
        ),
        "question": _Angle(
            title="¿Qué sabes realmente sobre «{topic}»?",
            hook="Una pregunta rápida: ¿qué es lo primero que te viene a la mente cuando oyes «{topic}»?",
            intro="Nos encantaría saber tu opinión: tus respuestas nos ayudan a decidir qué hacer a continuación.",
            points=(
                "Cuéntanoslo en los comentarios.",
                "Etiqueta a alguien que debería ver esto.",
                "Compartiremos las respuestas más interesantes en una próxima publicación.",
            ),
            tag="comunidad",
        ),
        "behind": _Angle(
            title="Entre bastidores en {name}: {topic}",
            hook="¿Alguna vez te has preguntado qué pasa entre bastidores en {name}?",
            intro="Te mostramos cómo trabaja nuestro equipo, desde el primer paso hasta el resultado final.",
            points=(
                "Empezamos temprano: la preparación comienza antes de abrir.",
                "Cuidamos cada detalle en cada paso.",
                "Un equipo al que le importa hacerlo bien.",
            ),
            tag="entrebastidores",
        ),
        "offer": _Angle(
            title="{topic}: no te lo pierdas en {name}",
            hook="Aquí tienes una buena razón para visitar {name}: {topic}.",
            intro="Llevamos tiempo preparándolo y tenemos muchas ganas de que lo pruebes.",
            points=(
                "Pregúntanos por los detalles.",
                "Compártelo con alguien a quien le encantaría.",
                "Guarda esta publicación para no olvidarlo.",
            ),
            tag="novedades",
        ),
        "story": _Angle(
            title="{topic}: la historia que hay detrás",
            hook="Todo negocio tiene una historia. Esta es la nuestra sobre «{topic}».",
            intro="Todo empezó con una idea sencilla: hacer bien una cosa y compartirla con nuestra comunidad.",
            points=(
                "Cómo empezó: una pequeña idea y mucha pasión.",
                "Lo que aprendimos por el camino: escuchar a nuestros clientes.",
                "Hacia dónde vamos: más de lo que te gusta.",
            ),
            tag="nuestrahistoria",
        ),
        "myth": _Angle(
            title="{topic}: mitos y realidades",
            hook="Hay muchos mitos sobre «{topic}». Vamos a aclarar algunos.",
            intro="Esto es lo que nos ha enseñado nuestra experiencia ({industry}).",
            points=(
                "Mito: es complicado. Realidad: es más fácil de lo que crees.",
                "Mito: es solo para expertos. Realidad: cualquiera puede disfrutarlo.",
                "Mito: cuesta una fortuna. Realidad: hay opciones para todos los bolsillos.",
            ),
            tag="mitos",
        ),
    },
    ctas={
        "friendly": ("¡Nos encantará verte pronto en {name}!", "¿Tienes preguntas? Escríbenos un mensaje."),
        "playful": ("Te toca: ¡ven a saludarnos a {name}!", "¡Venga, etiqueta a un amigo que necesite ver esto!"),
        "professional": (
            "Contacta con {name} para más información.",
            "Nuestro equipo está disponible para resolver tus dudas.",
        ),
        "bold": ("No esperes más: ¡visita {name} hoy mismo!", "¿Listo? ¡Escríbenos ahora!"),
    },
    slide="Diapositiva",
    hook_label="Gancho",
    shots_label="Planos",
    shot_kinds=("Primer plano", "Plano general", "Detalle"),
    closing_label="Cierre",
    visual="{headline}. Imagen luminosa y cuidada para las redes sociales de {name} ({kind}, {industry}).",
    fallback_topic="novedades",
    fallback_tags=("negociolocal", "comunidad", "novedades"),
    stopwords=_words(
        "el la los las y que en del por para con una un es son al lo como más pero sus su"
        " este esta estos estas sobre nuestro nuestra nuestros nuestras nuevo nueva nuevos"
        " nuevas muy sin desde hasta todo todos hoy de se le les ya o sí porque entre cuando"
        " escribe crea haz genera redacta publicación post contenido carrusel historia vídeo"
        " video texto ideas semana"
    ),
    hint_chars="ñ¿¡",
    instruction=_instruction(
        r"escr[ií]be(?:me)?|cr[eé]a(?:me)?|haz(?:me)?|genera|redacta|prepara|necesito|quiero",
        r"posts?|publicaci(?:ón|on|ones)|contenido|carrusel|reels?|historias?|v[ií]deos?|texto|ideas?",
        r"sobre|de|para|acerca de|promocionando|anunciando",
    ),
)

_FR = _Language(
    code="fr",
    angles={
        "tips": _Angle(
            title="{topic} : 3 conseils signés {name}",
            hook="Envie de profiter davantage de « {topic} » ? Voici trois idées simples.",
            intro="Chez {name}, on nous pose souvent la question, alors nous avons réuni nos meilleurs conseils au même endroit.",
            points=(
                "Commencez simplement : concentrez-vous sur ce qui compte le plus pour vous.",
                "Posez vos questions : notre équipe est là pour vous aider à choisir.",
                "Revenez souvent : il y a toujours quelque chose de nouveau à découvrir.",
            ),
            tag="conseils",
        ),
        "question": _Angle(
            title="Que savez-vous vraiment sur « {topic} » ?",
            hook="Petite question : quelle est la première chose qui vous vient à l'esprit quand vous entendez « {topic} » ?",
            intro="Nous aimerions avoir votre avis : vos réponses nous aident à choisir la suite.",
            points=(
                "Dites-le-nous en commentaire.",
                "Identifiez quelqu'un qui devrait voir ça.",
                "Nous partagerons les réponses les plus intéressantes dans une prochaine publication.",
            ),
            tag="communauté",
        ),
        "behind": _Angle(
            title="En coulisses chez {name} : {topic}",
            hook="Vous êtes-vous déjà demandé ce qui se passe en coulisses chez {name} ?",
            intro="Découvrez comment notre équipe travaille, de la première étape au résultat final.",
            points=(
                "Tôt le matin : la préparation commence avant l'ouverture.",
                "Le souci du détail à chaque étape.",
                "Une équipe qui tient à bien faire les choses.",
            ),
            tag="coulisses",
        ),
        "offer": _Angle(
            title="{topic} : à ne pas manquer chez {name}",
            hook="Voici une bonne raison de passer chez {name} : {topic}.",
            intro="Nous y travaillons depuis un moment et nous avons hâte que vous l'essayiez.",
            points=(
                "Demandez-nous les détails.",
                "Partagez-le avec quelqu'un qui va adorer.",
                "Enregistrez cette publication pour ne pas oublier.",
            ),
            tag="nouveauté",
        ),
        "story": _Angle(
            title="{topic} : l'histoire qui se cache derrière",
            hook="Chaque entreprise a une histoire. Voici la nôtre, autour de « {topic} ».",
            intro="Tout a commencé par une idée simple : bien faire une chose et la partager avec notre communauté.",
            points=(
                "Le début : une petite idée et beaucoup de passion.",
                "Ce que nous avons appris en chemin : écouter nos clients.",
                "La suite : encore plus de ce que vous aimez.",
            ),
            tag="notrehistoire",
        ),
        "myth": _Angle(
            title="{topic} : mythes et réalités",
            hook="On entend beaucoup d'idées reçues sur « {topic} ». Démêlons le vrai du faux.",
            intro="Voici ce que notre expérience ({industry}) nous a appris.",
            points=(
                "Mythe : c'est compliqué. Réalité : c'est plus simple qu'on ne le croit.",
                "Mythe : c'est réservé aux experts. Réalité : tout le monde peut en profiter.",
                "Mythe : ça coûte une fortune. Réalité : il y en a pour tous les budgets.",
            ),
            tag="vraioufaux",
        ),
    },
    ctas={
        "friendly": ("Nous serons ravis de vous accueillir chez {name} !", "Des questions ? Envoyez-nous un message."),
        "playful": ("À vous de jouer : venez nous dire bonjour chez {name} !", "Allez, identifiez un ami qui doit voir ça !"),
        "professional": (
            "Contactez {name} pour en savoir plus.",
            "Notre équipe est à votre disposition pour répondre à vos questions.",
        ),
        "bold": ("N'attendez plus : passez chez {name} dès aujourd'hui !", "Prêt ? Écrivez-nous maintenant !"),
    },
    slide="Diapo",
    hook_label="Accroche",
    shots_label="Plans",
    shot_kinds=("Gros plan", "Plan large", "Détail"),
    closing_label="Fin",
    visual="{headline}. Visuel lumineux et soigné pour les réseaux sociaux — {name} ({kind}, {industry}).",
    fallback_topic="nos nouveautés",
    fallback_tags=("commercelocal", "communauté", "nouveauté"),
    stopwords=_words(
        "le la les des du et est pour avec une un notre nos sur dans ce cette ces nouveau"
        " nouvelle nouveaux nouvelles au aux de que qui en par plus pas son sa ses leur"
        " vous nous très tout tous aujourd'hui écris rédige crée fais publication post"
        " contenu carrousel vidéo texte idées semaine"
    ),
    hint_chars="œëîûç",
    instruction=_instruction(
        r"[ée]cris|[ée]crivez|r[ée]dige[zs]?|cr[ée]e[zs]?|fais|faites|g[ée]n[èe]re[zs]?|pr[ée]pare[zs]?|je veux",
        r"posts?|publications?|contenus?|carrousels?|reels?|stor(?:y|ies)|vid[ée]os?|textes?|id[ée]es?",
        r"sur|pour|à propos de|de|présentant|annonçant",
    ),
)

_DE = _Language(
    code="de",
    angles={
        "tips": _Angle(
            title="{topic}: 3 Tipps von {name}",
            hook="Du willst mehr aus „{topic}“ herausholen? Hier sind drei einfache Ideen.",
            intro="Bei {name} werden wir oft danach gefragt, deshalb haben wir unsere besten Tipps an einem Ort gesammelt.",
            points=(
                "Fang einfach an: Konzentriere dich auf das, was dir am wichtigsten ist.",
                "Frag nach: Unser Team hilft dir gern bei der Auswahl.",
                "Schau öfter vorbei: Es gibt immer etwas Neues zu entdecken.",
            ),
            tag="tipps",
        ),
        "question": _Angle(
            title="Was weißt du wirklich über „{topic}“?",
            hook="Kurze Frage: Woran denkst du zuerst, wenn du „{topic}“ hörst?",
            intro="Wir sind gespannt auf deine Meinung: Deine Antworten helfen uns bei der Planung.",
            points=(
                "Schreib es uns in die Kommentare.",
                "Markiere jemanden, der das sehen sollte.",
                "Die spannendsten Antworten teilen wir in einem der nächsten Beiträge.",
            ),
            tag="community",
        ),
        "behind": _Angle(
            title="Hinter den Kulissen bei {name}: {topic}",
            hook="Hast du dich schon mal gefragt, was hinter den Kulissen bei {name} passiert?",
            intro="So arbeitet unser Team – vom ersten Schritt bis zum fertigen Ergebnis.",
            points=(
                "Früh am Start: Die Vorbereitung beginnt, bevor wir öffnen.",
                "Liebe zum Detail bei jedem Schritt.",
                "Ein Team, dem Qualität am Herzen liegt.",
            ),
            tag="hinterdenkulissen",
        ),
        "offer": _Angle(
            title="{topic}: jetzt bei {name} entdecken",
            hook="Hier ist ein guter Grund, {name} zu besuchen: {topic}.",
            intro="Wir haben lange daran gearbeitet und freuen uns darauf, dass du es ausprobierst.",
            points=(
                "Frag uns nach den Details.",
                "Teile es mit jemandem, dem es gefallen würde.",
                "Speichere diesen Beitrag, damit du es nicht vergisst.",
            ),
            tag="neuheit",
        ),
        "story": _Angle(
            title="{topic}: die Geschichte dahinter",
            hook="Jedes Unternehmen hat eine Geschichte. Das ist unsere zu „{topic}“.",
            intro="Alles begann mit einer einfachen Idee: eine Sache gut zu machen und sie mit unserer Community zu teilen.",
            points=(
                "Der Anfang: eine kleine Idee und viel Leidenschaft.",
                "Was wir unterwegs gelernt haben: unserer Kundschaft zuzuhören.",
                "Wie es weitergeht: mehr von dem, was du liebst.",
            ),
            tag="unseregeschichte",
        ),
        "myth": _Angle(
            title="{topic}: Mythos oder Fakt?",
            hook="Über „{topic}“ gibt es viele Mythen. Zeit, ein paar davon aufzuklären.",
            intro="Das hat uns unsere Erfahrung ({industry}) gelehrt.",
            points=(
                "Mythos: Es ist kompliziert. Fakt: Es ist einfacher, als du denkst.",
                "Mythos: Das ist nur etwas für Profis. Fakt: Jeder kann es genießen.",
                "Mythos: Das kostet ein Vermögen. Fakt: Es gibt Möglichkeiten für jedes Budget.",
            ),
            tag="mythos",
        ),
    },
    ctas={
        "friendly": ("Wir freuen uns auf deinen Besuch bei {name}!", "Fragen? Schreib uns einfach eine Nachricht."),
        "playful": ("Du bist dran: Komm vorbei und sag Hallo bei {name}!", "Na los, markiere jemanden, der das sehen muss!"),
        "professional": (
            "Kontaktiere {name} für weitere Informationen.",
            "Unser Team beantwortet gern deine Fragen.",
        ),
        "bold": ("Warte nicht länger: Besuche {name} noch heute!", "Bereit? Schreib uns jetzt!"),
    },
    slide="Folie",
    hook_label="Einstieg",
    shots_label="Einstellungen",
    shot_kinds=("Nahaufnahme", "Totale", "Detail"),
    closing_label="Abschluss",
    visual="{headline}. Helles, klares Social-Media-Bild für {name} ({kind}, {industry}).",
    fallback_topic="Neuigkeiten",
    fallback_tags=("lokal", "community", "neuigkeiten"),
    stopwords=_words(
        "der die das und ist für mit ein eine einen einem unser unsere unseren unserem über"
        " den dem des zum zur neue neuen neuer von im auf in an wir du sie es nicht auch"
        " noch nur sehr schreibe schreib erstelle mach beitrag post inhalt karussell video"
        " text ideen woche heute"
    ),
    hint_chars="ßäöü",
    instruction=_instruction(
        r"schreib(?:e)?|erstell(?:e)?|mach(?:e)?|generiere|verfasse|ich brauche|wir brauchen",
        r"posts?|beitr[aä]g(?:e)?|beitragstext|inhalte?|karussell|reels?|storys?|videos?|texte?|ideen?",
        r"über|zu|zum|zur|für|von",
    ),
)

_PT = _Language(
    code="pt",
    angles={
        "tips": _Angle(
            title="{topic}: 3 dicas de {name}",
            hook="Quer aproveitar melhor “{topic}”? Aqui estão três ideias simples.",
            intro="Sempre nos perguntam sobre isso, então reunimos nossas melhores dicas em um só lugar.",
            points=(
                "Comece pelo simples: foque no que mais importa para você.",
                "Pergunte à vontade: nossa equipe ajuda você a escolher.",
                "Volte sempre: há sempre algo novo para descobrir.",
            ),
            tag="dicas",
        ),
        "question": _Angle(
            title="O que você realmente sabe sobre “{topic}”?",
            hook="Pergunta rápida: qual é a primeira coisa que vem à sua cabeça quando você ouve “{topic}”?",
            intro="Queremos saber a sua opinião: suas respostas nos ajudam a planejar os próximos passos.",
            points=(
                "Conte para a gente nos comentários.",
                "Marque alguém que precisa ver isto.",
                "Vamos compartilhar as respostas mais interessantes em uma próxima publicação.",
            ),
            tag="comunidade",
        ),
        "behind": _Angle(
            title="Nos bastidores de {name}: {topic}",
            hook="Já se perguntou o que acontece nos bastidores de {name}?",
            intro="Veja como a nossa equipe trabalha, do primeiro passo ao resultado final.",
            points=(
                "Começamos cedo: a preparação começa antes de abrirmos.",
                "Cuidado com cada detalhe, em cada etapa.",
                "Uma equipe que se importa em fazer tudo bem feito.",
            ),
            tag="bastidores",
        ),
        "offer": _Angle(
            title="Não perca: {topic}",
            hook="Aqui está um ótimo motivo para nos visitar: {topic}.",
            intro="Estamos preparando isso há um tempo e mal podemos esperar para você experimentar.",
            points=(
                "Pergunte-nos os detalhes.",
                "Compartilhe com alguém que vai adorar.",
                "Salve esta publicação para não esquecer.",
            ),
            tag="novidade",
        ),
        "story": _Angle(
            title="{topic}: a história por trás",
            hook="Todo negócio tem uma história. Esta é a nossa sobre “{topic}”.",
            intro="Tudo começou com uma ideia simples: fazer uma coisa bem feita e compartilhá-la com a nossa comunidade.",
            points=(
                "O começo: uma pequena ideia e muita paixão.",
                "O que aprendemos no caminho: ouvir nossos clientes.",
                "Para onde vamos: mais do que você ama.",
            ),
            tag="nossahistória",
        ),
        "myth": _Angle(
            title="{topic}: mito ou verdade?",
            hook="Existem muitos mitos sobre “{topic}”. Vamos esclarecer alguns.",
            intro="Isto é o que a nossa experiência ({industry}) nos ensinou.",
            points=(
                "Mito: é complicado. Verdade: é mais fácil do que você imagina.",
                "Mito: é só para especialistas. Verdade: todo mundo pode aproveitar.",
                "Mito: custa uma fortuna. Verdade: há opções para todos os bolsos.",
            ),
            tag="mitoouverdade",
        ),
    },
    ctas={
        "friendly": ("Esperamos a sua visita em breve!", "Ficou com dúvidas? É só mandar uma mensagem."),
        "playful": ("Sua vez: venha dar um oi pra gente!", "Vai, marca aquele amigo que precisa ver isto!"),
        "professional": (
            "Entre em contato com {name} para saber mais.",
            "Nossa equipe está à disposição para tirar suas dúvidas.",
        ),
        "bold": ("Não espere mais: venha nos visitar hoje mesmo!", "Pronto? Mande uma mensagem agora!"),
    },
    slide="Slide",
    hook_label="Gancho",
    shots_label="Cenas",
    shot_kinds=("Close", "Plano geral", "Detalhe"),
    closing_label="Encerramento",
    visual="{headline}. Imagem clara e bem cuidada para as redes sociais de {name} ({kind}, {industry}).",
    fallback_topic="novidades",
    fallback_tags=("negociolocal", "comunidade", "novidades"),
    stopwords=_words(
        "o os a as e que em do da dos das no na nos nas para com uma um nosso nossa nossos"
        " nossas novo nova novos novas sobre é por ao aos de mais muito sem seu sua você"
        " escreva crie faça publicação post conteúdo carrossel vídeo texto ideias semana hoje"
    ),
    hint_chars="ãõ",
    instruction=_instruction(
        r"escrev[ae]|cri[ae]|fa[çc]a|gere|redija|prepare|preciso de|quero",
        r"posts?|publica[çc](?:ão|ões)|conte[úu]dos?|carross(?:el|éis)|reels?|stor(?:y|ies)|histórias?|v[íi]deos?|textos?|ideias?|legendas?",
        r"sobre|de|para|do|da|dos|das|divulgando|anunciando",
    ),
)

_IT = _Language(
    code="it",
    angles={
        "tips": _Angle(
            title="{topic}: 3 consigli da {name}",
            hook="Vuoi ottenere di più da «{topic}»? Ecco tre idee semplici.",
            intro="Da {name} ce lo chiedete spesso, quindi abbiamo raccolto i nostri consigli migliori in un unico posto.",
            points=(
                "Parti dalle basi: concentrati su ciò che conta di più per te.",
                "Chiedi pure: il nostro team ti aiuta a scegliere.",
                "Torna spesso: c'è sempre qualcosa di nuovo da scoprire.",
            ),
            tag="consigli",
        ),
        "question": _Angle(
            title="Cosa sai davvero di «{topic}»?",
            hook="Domanda veloce: qual è la prima cosa che ti viene in mente quando senti «{topic}»?",
            intro="Ci piacerebbe sapere cosa ne pensi: le tue risposte ci aiutano a decidere i prossimi passi.",
            points=(
                "Raccontacelo nei commenti.",
                "Tagga qualcuno che dovrebbe vederlo.",
                "Condivideremo le risposte più interessanti in uno dei prossimi post.",
            ),
            tag="community",
        ),
        "behind": _Angle(
            title="Dietro le quinte da {name}: {topic}",
            hook="Ti sei mai chiesto cosa succede dietro le quinte da {name}?",
            intro="Ecco come lavora il nostro team, dal primo passo al risultato finale.",
            points=(
                "Si comincia presto: la preparazione inizia prima dell'apertura.",
                "Cura del dettaglio in ogni fase.",
                "Un team che tiene a fare le cose per bene.",
            ),
            tag="dietrolequinte",
        ),
        "offer": _Angle(
            title="Da non perdere: {topic}",
            hook="Ecco un buon motivo per venire a trovarci da {name}: {topic}.",
            intro="Ci lavoriamo da un po' e non vediamo l'ora che tu lo provi.",
            points=(
                "Chiedici tutti i dettagli.",
                "Condividilo con qualcuno a cui piacerebbe.",
                "Salva questo post per non dimenticarlo.",
            ),
            tag="novità",
        ),
        "story": _Angle(
            title="{topic}: la nostra storia",
            hook="Ogni attività ha una storia. Questa è la nostra su «{topic}».",
            intro="Tutto è iniziato con un'idea semplice: fare bene una cosa e condividerla con la nostra community.",
            points=(
                "L'inizio: una piccola idea e tanta passione.",
                "Cosa abbiamo imparato lungo la strada: ascoltare i nostri clienti.",
                "Dove stiamo andando: ancora più di ciò che ami.",
            ),
            tag="lanostrastoria",
        ),
        "myth": _Angle(
            title="{topic}: miti e verità",
            hook="Su «{topic}» circolano tanti miti. Facciamo un po' di chiarezza.",
            intro="Ecco cosa ci ha insegnato la nostra esperienza ({industry}).",
            points=(
                "Mito: è complicato. Verità: è più facile di quanto pensi.",
                "Mito: è solo per esperti. Verità: tutti possono goderselo.",
                "Mito: costa una fortuna. Verità: ci sono opzioni per tutte le tasche.",
            ),
            tag="mitieverità",
        ),
    },
    ctas={
        "friendly": ("Ti aspettiamo presto da {name}!", "Domande? Scrivici un messaggio."),
        "playful": ("Tocca a te: passa a salutarci da {name}!", "Dai, tagga un amico che deve assolutamente vederlo!"),
        "professional": (
            "Contatta {name} per saperne di più.",
            "Il nostro team è a disposizione per rispondere alle tue domande.",
        ),
        "bold": ("Non aspettare: vieni da {name} oggi stesso!", "Pronto? Scrivici subito!"),
    },
    slide="Slide",
    hook_label="Gancio",
    shots_label="Inquadrature",
    shot_kinds=("Primo piano", "Campo lungo", "Dettaglio"),
    closing_label="Chiusura",
    visual="{headline}. Immagine luminosa e curata per i social di {name} ({kind}, {industry}).",
    fallback_topic="novità",
    fallback_tags=("attivitàlocale", "community", "novità"),
    stopwords=_words(
        "il lo la gli le e che di del della dei delle per con una un nostro nostra nostri"
        " nostre nuovo nuova nuovi nuove sul sulla è in alla al allo agli non più molto"
        " questo questa scrivi crea fai post contenuto carosello video testo idee settimana oggi"
    ),
    hint_chars="ìò",
    instruction=_instruction(
        r"scrivi|crea|fai|genera|prepara|redigi|vorrei|ho bisogno di",
        r"post|contenut[oi]|carosell[oi]|reels?|stor(?:y|ies)|video|test[oi]|idee|didascali[ae]",
        r"su|sul|sulla|sui|sulle|per|di|del|della|riguardo a",
    ),
)

_HE = _Language(
    code="he",
    angles={
        "tips": _Angle(
            title="{topic}: 3 טיפים מ-{name}",
            hook='רוצים להפיק יותר מ-"{topic}"? הנה שלושה רעיונות פשוטים.',
            intro="שואלים אותנו על זה הרבה, אז ריכזנו את הטיפים הכי טובים שלנו במקום אחד.",
            points=(
                "התחילו בקטן: התמקדו במה שהכי חשוב לכם.",
                "אל תהססו לשאול: הצוות שלנו ישמח לעזור לכם לבחור.",
                "חזרו אלינו לעתים קרובות: תמיד יש משהו חדש לגלות.",
            ),
            tag="טיפים",
        ),
        "question": _Angle(
            title='מה אתם באמת יודעים על "{topic}"?',
            hook='שאלה קטנה: מה הדבר הראשון שעולה לכם בראש כשאתם שומעים "{topic}"?',
            intro="נשמח לשמוע מכם: התשובות שלכם עוזרות לנו לתכנן את הצעדים הבאים.",
            points=(
                "ספרו לנו בתגובות.",
                "תייגו מישהו שצריך לראות את זה.",
                "נשתף את התשובות המעניינות ביותר באחד הפוסטים הבאים.",
            ),
            tag="קהילה",
        ),
        "behind": _Angle(
            title="מאחורי הקלעים ב-{name}: {topic}",
            hook="תהיתם פעם מה קורה מאחורי הקלעים ב-{name}?",
            intro="הצצה לאופן שבו הצוות שלנו עובד, מהשלב הראשון ועד התוצאה הסופית.",
            points=(
                "מתחילים מוקדם: ההכנות מתחילות עוד לפני הפתיחה.",
                "תשומת לב לכל פרט, בכל שלב.",
                "צוות שאכפת לו לעשות את זה נכון.",
            ),
            tag="מאחוריהקלעים",
        ),
        "offer": _Angle(
            title="{topic}: לא כדאי לפספס",
            hook="הנה סיבה טובה לבקר ב-{name}: {topic}.",
            intro="עבדנו על זה הרבה זמן ואנחנו מחכים שתנסו.",
            points=(
                "שאלו אותנו על הפרטים.",
                "שתפו עם מישהו שיאהב את זה.",
                "שמרו את הפוסט כדי לא לשכוח.",
            ),
            tag="חדש",
        ),
        "story": _Angle(
            title="{topic}: הסיפור שלנו",
            hook='לכל עסק יש סיפור. זה הסיפור שלנו על "{topic}".',
            intro="הכול התחיל מרעיון פשוט: לעשות דבר אחד טוב ולשתף אותו עם הקהילה שלנו.",
            points=(
                "ההתחלה: רעיון קטן והרבה תשוקה.",
                "מה למדנו בדרך: להקשיב ללקוחות שלנו.",
                "לאן אנחנו הולכים: עוד ממה שאתם אוהבים.",
            ),
            tag="הסיפורשלנו",
        ),
        "myth": _Angle(
            title="{topic}: מיתוס או עובדה?",
            hook='יש הרבה מיתוסים על "{topic}". בואו נעשה סדר.',
            intro="זה מה שלמדנו מהניסיון שלנו ({industry}).",
            points=(
                "מיתוס: זה מסובך. עובדה: זה קל יותר ממה שנדמה.",
                "מיתוס: זה רק למומחים. עובדה: כולם יכולים ליהנות מזה.",
                "מיתוס: זה עולה הון. עובדה: יש אפשרויות לכל תקציב.",
            ),
            tag="מיתוסים",
        ),
    },
    ctas={
        "friendly": ("נשמח לראות אתכם בקרוב ב-{name}!", "יש שאלות? פשוט שלחו לנו הודעה."),
        "playful": ("התור שלכם: קפצו להגיד שלום ב-{name}!", "נו, תייגו חבר שחייב לראות את זה!"),
        "professional": ("צרו קשר עם {name} לפרטים נוספים.", "הצוות שלנו זמין לענות על כל שאלה."),
        "bold": ("אל תחכו: בואו ל-{name} עוד היום!", "מוכנים? שלחו לנו הודעה עכשיו!"),
    },
    slide="שקופית",
    hook_label="פתיח",
    shots_label="צילומים",
    shot_kinds=("תקריב", "צילום רחב", "פרט"),
    closing_label="סיום",
    visual="{headline}. תמונה בהירה ונקייה לרשתות החברתיות של {name} ({kind}, {industry}).",
    fallback_topic="מה חדש",
    fallback_tags=("עסקמקומי", "קהילה", "חדש"),
    stopwords=_words(
        "של על את עם זה זו זאת לא כל גם אבל או הוא היא הם אנחנו שלנו שלכם יש אין מה"
        " איך למה כתבו כתוב צרו צור פוסט פוסטים תוכן קרוסלה סרטון טקסט רעיונות השבוע היום"
    ),
    hint_chars="",  # Hebrew is recognised by its script, see _detect_language
    instruction=_instruction(
        r"כתבו|כתוב|תכתוב|תכתבי|צרו|צור|תיצור|הכינו|הכן|אני צריך|אני צריכה",
        r"פוסט|פוסטים|תוכן|קרוסלה|רילס?|סטורי|סרטון|טקסט|רעיונות|כיתוב",
        r"על|בנושא|עבור",
    ),
)

LANGUAGES: dict[str, _Language] = {lang.code: lang for lang in (_EN, _ES, _FR, _DE, _PT, _IT, _HE)}
# The topic can be in any language whatever the drafts' language.
_ALL_STOPWORDS = frozenset().union(*(lang.stopwords for lang in LANGUAGES.values()))
# Old or regional spellings a caller might pass.
_ALIASES = {"iw": "he"}

# content_dna words -> tone; the first tone whose words appear wins.
_TONE_WORDS = {
    "playful": ("playful", "fun", "funny", "humorous", "humor", "witty", "cheeky", "casual", "lighthearted"),
    "professional": ("professional", "formal", "expert", "authoritative", "corporate", "serious", "informative"),
    "bold": ("bold", "energetic", "enthusiastic", "punchy", "confident", "urgent", "exciting"),
    "friendly": ("friendly", "warm", "welcoming", "kind", "approachable", "conversational"),
}
_EMOJI_NONE = ("none", "no", "never", "off", "zero", "avoid")
_EMOJI_MANY = ("frequent", "frequently", "lots", "many", "often", "heavy", "high", "plenty", "abundant")


@dataclass(frozen=True)
class _Voice:
    tone: str
    emoji: str  # "none" | "some" | "many"


def normalize_language(code: str | None) -> str | None:
    """``"pt-BR"`` -> ``"pt"``; ``None`` or blank -> ``None``."""
    if not code or not code.strip():
        return None
    base = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    return _ALIASES.get(base, base)


def _is_hebrew(text: str) -> bool:
    """At least half of the letters are Hebrew."""
    letters = [c for c in text if c.isalpha()]
    hebrew = sum(1 for c in letters if "\u0590" <= c <= "\u05ff")
    return bool(letters) and hebrew * 2 >= len(letters)


def detect_language(text: str, prefer: str | None = None) -> str | None:
    """Guess which supported language ``text`` is in, or ``None`` if unsure.

    A deliberately small heuristic: Hebrew by its script, otherwise a count of
    each language's function words plus its distinctive letters (ñ, ß, ã …). A
    tie is resolved towards ``prefer`` when it is one of the tied languages and
    is otherwise "unsure", so the caller falls back instead of guessing.
    """
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return None
    if _is_hebrew(text):
        return "he"
    tokens = re.findall(r"\w+", text.lower())
    lowered = text.lower()
    scores: dict[str, int] = {}
    for code, lang in LANGUAGES.items():
        score = sum(1 for t in tokens if t in lang.stopwords)
        score += 2 * sum(1 for ch in set(lang.hint_chars) if ch in lowered)
        if score:
            scores[code] = score
    if not scores:
        return None
    best = max(scores.values())
    leaders = [code for code, score in scores.items() if score == best]
    if len(leaders) == 1:
        return leaders[0]
    return prefer if prefer in leaders else None


def resolve_language(request: TextRequest) -> str:
    """The language the drafts are written in.

    An explicit ``request.language`` wins; a code this composer has no templates
    for (say ``"nl"``) yields English drafts *labelled* ``"en"``, so the stored
    language always tells the truth about the text. With no explicit language,
    the prompt's language is detected, then the business's language is used,
    then English.
    """
    requested = normalize_language(request.language)
    if requested is not None:
        return requested if requested in LANGUAGES else "en"
    business = normalize_language(request.business.language)
    detected = detect_language(request.prompt, prefer=business)
    if detected is not None:
        return detected
    return business if business in LANGUAGES else "en"


def parse_voice(content_dna: str | None) -> _Voice:
    """Read the tone and emoji habit out of a plain-words content DNA."""
    if not content_dna:
        return _Voice(tone="friendly", emoji="some")
    dna = content_dna.lower()
    tone_match = re.search(r"tone\s*[:=]\s*([^;\n]+)", dna)
    tone_text = tone_match.group(1) if tone_match else dna
    tone = "friendly"
    for candidate, words in _TONE_WORDS.items():
        if any(re.search(rf"\b{w}\b", tone_text) for w in words):
            tone = candidate
            break
    emoji = "some"
    emoji_match = re.search(r"emojis?\s*[:=]\s*(\w+)", dna)
    if emoji_match:
        value = emoji_match.group(1)
        if value in _EMOJI_NONE:
            emoji = "none"
        elif value in _EMOJI_MANY:
            emoji = "many"
    elif re.search(r"\bno emojis?\b|\bwithout emojis?\b", dna):
        emoji = "none"
    elif re.search(r"\b(?:lots of|many|frequent)\s+emojis?\b", dna):
        emoji = "many"
    return _Voice(tone=tone, emoji=emoji)


def _topic(prompt: str, lang: _Language) -> str:
    """The subject of the prompt, without "Write a post about"-style boilerplate."""
    text = unicodedata.normalize("NFC", prompt).strip()
    # The prompt may be in another language than the drafts ("write in Spanish"
    # is a request setting), so every language's boilerplate is tried.
    for pattern in (lang.instruction, *(other.instruction for other in LANGUAGES.values())):
        stripped = pattern.sub("", text, count=1)
        if stripped != text:
            text = stripped
            break
    # The first sentence carries the subject; the rest is usually instructions.
    text = re.split(r"(?<=[.!?])\s|\n", text, maxsplit=1)[0]
    text = text.strip(" \t\"'“”„«»‘’.,;:!?-–—")
    # A topic is a phrase, not an essay: it is quoted in hooks and titles.
    text = _shorten(re.sub(r"\s+", " ", text), TOPIC_MAX)
    if not text:
        return lang.fallback_topic
    # "Our new menu" reads "…about our new menu" mid-sentence, but "Black Friday"
    # or a German noun must keep its capital: lower only a leading function word.
    if text.split(" ", 1)[0].lower() in _ALL_STOPWORDS:
        text = text[:1].lower() + text[1:]
    return text


def _shorten(text: str, limit: int) -> str:
    """Cut at a word boundary to at most ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fit_title(template: str, topic: str, fields: dict[str, str]) -> str:
    """Fill the title, shortening the topic (not the angle's words) to fit 80 chars."""
    fixed = len(template.format(topic="", **fields))
    topic = _shorten(topic, max(12, TITLE_MAX - fixed))
    return _shorten(_capitalize(template.format(topic=topic, **fields)), TITLE_MAX)


def _slug(text: str) -> str:
    """A hashtag body: lowercase letters and digits of any script, nothing else."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFC", text).lower())


def _tags(topic: str, business_type: str, industry: str, name: str, angle: _Angle, lang: _Language) -> list[str]:
    keywords = [
        token
        for token in re.findall(r"\w+", topic.lower())
        # Hebrew words are short (prefixes are glued on), so 3 letters can be a word.
        if len(token) >= (3 if _is_hebrew(token) else 4) and not token.isdigit() and token not in _ALL_STOPWORDS
    ]
    tags: list[str] = []
    for candidate in (*keywords[:3], industry, business_type, angle.tag, name):
        tag = _slug(candidate)
        if 2 <= len(tag) <= 40 and not tag.isdigit() and tag not in tags:
            tags.append(tag)
    # Generic tags only top a thin list up to the minimum of three.
    for fallback in lang.fallback_tags:
        if len(tags) >= 3:
            break
        if fallback not in tags:
            tags.append(fallback)
    return tags[:8]


class OfflineTextGenerator:
    """Template-based drafts in en, es, fr, de, pt, it and he; no model, no network.

    ``request.count`` is clamped to 1–6 (one suggestion per angle). Drafts are
    deterministic for a given prompt, business, format and language.
    """

    name = "offline-composer"
    languages: frozenset[str] | None = frozenset(LANGUAGES)

    async def generate(self, request: TextRequest) -> GeneratedText:
        return GeneratedText(suggestions=self.compose(request), generator=self.name)

    def compose(self, request: TextRequest) -> list[DraftSuggestion]:
        """The synchronous core of :meth:`generate`; pure and fast (no I/O)."""
        code = resolve_language(request)
        lang = LANGUAGES[code]
        voice = parse_voice(request.content_dna)
        business = request.business
        seed_source = "\x1f".join(
            (request.prompt, business.name, business.type, business.industry, request.content_format, code)
        )
        rng = random.Random(hashlib.sha256(seed_source.encode()).digest())
        angles = list(ANGLES)
        rng.shuffle(angles)
        count = max(1, min(MAX_SUGGESTIONS, request.count))
        topic = _topic(request.prompt, lang)
        fields = {
            "name": business.name.strip() or "—",
            "kind": business.type.strip() or "—",
            "industry": business.industry.strip() or "—",
        }
        suggestions: list[DraftSuggestion] = []
        titles: set[str] = set()
        for key in angles[:count]:
            angle = lang.angles[key]
            title = _fit_title(angle.title, topic, fields)
            if title in titles:  # only reachable with degenerate, truncated inputs
                title = _shorten(title, TITLE_MAX - 4) + f" ({len(suggestions) + 1})"
            titles.add(title)
            cta = lang.ctas[voice.tone][rng.randrange(2)].format(**fields)
            body, headlines = _layout(request.content_format, lang, angle, key, title, topic, cta, voice, fields)
            suggestions.append(
                DraftSuggestion(
                    title=title,
                    body=body,
                    tags=_tags(topic, business.type, business.industry, business.name, angle, lang),
                    image_prompts=[_image_prompt(lang, headline, fields) for headline in headlines],
                    language=code,
                )
            )
        return suggestions


def _image_prompt(lang: _Language, headline: str, fields: dict[str, str]) -> str:
    # The visual brief follows the slide's text as a new sentence.
    prompt = lang.visual.format(headline=headline, **fields)
    if headline.endswith((".", "!", "?", "…")):
        prompt = prompt.replace(f"{headline}. ", f"{headline} ", 1)
    return prompt


def _layout(
    content_format: ContentFormat,
    lang: _Language,
    angle: _Angle,
    key: str,
    title: str,
    topic: str,
    cta: str,
    voice: _Voice,
    fields: dict[str, str],
) -> tuple[str, list[str]]:
    """The body for ``content_format`` and the headline of each slide it implies."""
    hook = angle.hook.format(topic=topic, **fields)
    intro = angle.intro.format(**fields)
    points = [p.format(**fields) for p in angle.points]
    slides = [title, *points, cta]  # a carousel: cover, three points, call to action
    # Emoji decorate the post only; slide headlines (image prompts) stay plain.
    if voice.emoji != "none":
        hook = f"{_ANGLE_EMOJI[key]} {hook}"
    bullet = "✨" if voice.emoji == "many" else "•"
    if voice.emoji == "many":
        cta = f"{cta} 🙌"

    if content_format == "TEXT":
        lines = [hook, "", intro, "", *(f"{bullet} {p}" for p in points), "", cta]
        return "\n".join(lines), [title]
    if content_format == "STORY":
        return f"{hook}\n{cta}", [title]
    if content_format == "CAROUSEL":
        shown = [*slides[:-1], cta]
        listed = [f"{lang.slide} {i}/{CAROUSEL_SLIDES}: {text}" for i, text in enumerate(shown, start=1)]
        return "\n".join([hook, "", *listed]), slides
    if content_format in ("VIDEO", "REEL"):
        shots = [f"{i}. {kind}: {point}" for i, (kind, point) in enumerate(zip(lang.shot_kinds, points), start=1)]
        lines = [f"{lang.hook_label}: {hook}", "", f"{lang.shots_label}:", *shots, "", f"{lang.closing_label}: {cta}"]
        return "\n".join(lines), [title]
    # IMAGE: a caption of medium length.
    return "\n\n".join([hook, intro, cta]), [title]
