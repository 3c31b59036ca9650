# gen-html.awk: writes a text-heavy HTML page of about `bytes` bytes to standard output.
#
#     awk -v bytes=14680064 -v seed=42 -f benches/upstream/gen-html.awk > page.html
#
# The page looks like a long article or forum archive: headings, paragraphs of English prose
# with inline links, lists of links, tables, and now and then a <style> or <script> block. It
# is deterministic for a given seed, needs no network, and works with mawk (Debian's default
# awk) as well as gawk. The benchmark uses it for the "14 MB HTML page"; later it feeds the
# content matcher, so most of its bytes are visible text, not markup.

function pick(arr, n) { return arr[int(rand() * n) + 1] }

function sentence(   len, i, w, s) {
    len = 8 + int(rand() * 14)
    s = ""
    for (i = 1; i <= len; i++) {
        w = pick(words, nwords)
        if (i == 1) w = toupper(substr(w, 1, 1)) substr(w, 2)
        if (i > 1 && i < len && rand() < 0.07) w = w ","
        if (i > 2 && i < len - 1 && rand() < 0.03) {
            w = "<a href=\"/" pick(words, nwords) "/" pick(words, nwords) "-" int(rand() * 9000 + 1000) ".html\">" w "</a>"
        }
        s = (i == 1) ? w : s " " w
    }
    return s pick(ends, nends)
}

function paragraph(   n, i, p) {
    n = 3 + int(rand() * 6)
    p = "<p>"
    for (i = 1; i <= n; i++) p = p (i > 1 ? " " : "") sentence()
    return p "</p>\n"
}

function title(   n, i, t, w) {
    n = 3 + int(rand() * 5)
    t = ""
    for (i = 1; i <= n; i++) {
        w = pick(words, nwords)
        t = t (i > 1 ? " " : "") toupper(substr(w, 1, 1)) substr(w, 2)
    }
    return t
}

function link_list(   n, i, s, w) {
    n = 4 + int(rand() * 8)
    s = "<ul class=\"related\">\n"
    for (i = 1; i <= n; i++) {
        w = pick(words, nwords)
        s = s "  <li><a href=\"https://www.example.org/" w "/" int(rand() * 100000) "\">" title() "</a> - " sentence() "</li>\n"
    }
    return s "</ul>\n"
}

function table(   r, s) {
    s = "<table class=\"data\">\n  <tr><th>Topic</th><th>Summary</th><th>Replies</th></tr>\n"
    for (r = 1; r <= 3 + int(rand() * 5); r++)
        s = s "  <tr><td>" title() "</td><td>" sentence() "</td><td>" int(rand() * 500) "</td></tr>\n"
    return s "</table>\n"
}

function style_block(   s) {
    s = "<style>\n"
    s = s ".post-" serial " { margin: 0 auto; max-width: 48rem; font-family: Georgia, serif; line-height: 1.6; }\n"
    s = s ".post-" serial " h2 { font-size: 1.4rem; color: #223344; border-bottom: 1px solid #ccd; }\n"
    s = s ".post-" serial " a:hover { text-decoration: underline; color: #0055aa; }\n"
    return s "</style>\n"
}

function script_block(   s) {
    s = "<script>\n"
    s = s "(function () {\n"
    s = s "  var section = document.getElementById('s" serial "');\n"
    s = s "  if (!section) { return; }\n"
    s = s "  section.addEventListener('click', function (event) {\n"
    s = s "    var target = event.target.closest('a');\n"
    s = s "    if (target) { window.dataLayer = window.dataLayer || []; window.dataLayer.push({ event: 'link', href: target.href }); }\n"
    s = s "  });\n"
    s = s "})();\n"
    return s "</script>\n"
}

BEGIN {
    if (bytes == "") bytes = 14680064
    if (seed == "") seed = 42
    srand(seed)
    nwords = split("the of and to in a is that for it as was with be by on not he I this are or his from at which but have an they you were her she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three himself few house use during without again place around however home small found thought went say part once general high upon school every don does got united left number course war until always away something fact though water less public put think almost hand enough far took head yet government system better set told nothing night end why called eyes find going look asked later knew point next program city business give group toward young let room president side social present given several order national possible rather second face per among form important often things looked early white case john become large big need four within felt along children saw best church ever least power development light thing family seemed interest want members mind country area others done turned although open problem sense began help certain whole himself reading teacher lesson pupils homework weekend football friends music games online video holiday garden river morning evening library science history answer question story", words, " ")
    nends = split(". . . . . . ? !", ends, " ")

    out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" title() "</title>\n"
    out = out "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    out = out "<link rel=\"stylesheet\" href=\"/static/site.css\">\n</head>\n<body>\n"
    out = out "<header><nav><a href=\"/\">Home</a> | <a href=\"/forum/\">Forum</a> | <a href=\"/news/\">News</a> | <a href=\"/help/\">Help</a></nav></header>\n<main>\n"
    printf "%s", out
    written = length(out)
    serial = 0
    footer = "</main>\n<footer><p>Generated benchmark page. All text is random English words.</p></footer>\n</body>\n</html>\n"
    while (written + length(footer) < bytes) {
        serial++
        s = "<section id=\"s" serial "\" class=\"post-" serial "\">\n<h2>" title() "</h2>\n"
        n = 2 + int(rand() * 5)
        for (k = 1; k <= n; k++) s = s paragraph()
        if (rand() < 0.25) s = s link_list()
        if (rand() < 0.10) s = s table()
        if (serial % 40 == 0) s = s style_block()
        if (serial % 25 == 0) s = s script_block()
        s = s "</section>\n"
        if (written + length(s) + length(footer) > bytes) {
            # Pad the last stretch with plain prose so the page hits the size closely.
            s = "<p>"
            while (written + length(s) + length(footer) + 200 < bytes) s = s sentence() " "
            s = s "</p>\n"
        }
        if (s == "<p></p>\n") break
        printf "%s", s
        written += length(s)
    }
    printf "%s", footer
}
