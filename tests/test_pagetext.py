"""The whole visible text of an HTML page (`pipeline.pagetext.page_text`)."""
from __future__ import annotations

from pipeline.pagetext import page_text


def test_blocks_become_paragraphs_and_hidden_content_goes():
    html = ("<html><head><title>Headline</title><style>p{color:red}</style></head><body>"
            "<nav><a href='/'>Home</a> | <a href='/w'>World</a></nav>"
            "<script>var x = 1;</script><!-- a comment -->"
            "<h1>The   headline</h1><p>First <b>paragraph</b>\n of the article.</p>"
            "<div>A teaser<br>on two lines</div><ul><li>one</li><li>two</li></ul>"
            "<table><tr><td>cell</td><td>next</td></tr></table>"
            "<footer>© Example</footer></body></html>")
    assert page_text(html) == ("Home | World\n\nThe headline\n\nFirst paragraph of the article.\n\n"
                               "A teaser\non two lines\n\none\n\ntwo\n\ncell next\n\n© Example")


def test_two_line_breaks_end_a_paragraph_and_pre_keeps_its_lines():
    html = "<body><div>one<br><br>two<br>three</div><pre>a  b\nc</pre></body>"
    assert page_text(html) == "one\n\ntwo\nthree\n\na b\nc"


def test_inline_text_between_blocks_and_tails_are_kept_in_order():
    html = "<body>lead <span>in</span><p>para</p>tail after<em>!</em></body>"
    assert page_text(html) == "lead in\n\npara\n\ntail after!"


def test_deep_nesting_is_read_without_recursion():
    # deeper than libxml2's default limit (256) and Python's recursion limit (1,000)
    html = "<html><body>" + "<span>" * 1_500 + "deep text" + "</span>" * 1_500 + "</body></html>"
    assert page_text(html) == "deep text"


def test_a_tree_lxml_will_not_build_gives_empty_text():
    # `pipeline.ingest` then falls back to the standard library's parser
    html = "<html><body>" + "<div>" * 50_000 + "<p>deep text</p>" + "</div>" * 50_000 + "</body></html>"
    assert page_text(html) == ""


def test_empty_and_unparsable_pages_give_empty_text():
    assert page_text("") == ""
    assert page_text("<html><head><script>x()</script></head><body></body></html>") == ""
