"""Hostile submissions that try to show secrets or run script in the reader's browser.

Same format as :mod:`hostile_catalogue` (answer-cell source for ``ex_deepnet_relu`` of an otherwise
blank tutorial 1 submission; ``{case}`` and the other placeholders are filled in with
``str.format``, so literal braces are doubled). The exfiltration cases define ``DeepNetReLU`` so
that the test cell calls it: its ``forward`` then runs *inside* the test cell, whose source
(hidden tests included) is ``_ih[-1]``. The HTML cases leave ``PWN-{case}`` in every payload: no
script, handler or ``javascript:`` URL carrying it may survive in the feedback HTML.
"""

from __future__ import annotations

from hostile_catalogue import Hostile

_NET = '''
import torch.nn as nn
class DeepNetReLU(nn.Module):
    def __init__(self, n_inputs, n_hidden):
        super().__init__()
    def forward(self, r):
        {body}
'''

_IH_ERROR = _NET.replace("{body}", 'raise RuntimeError(get_ipython().user_ns["_ih"][-1])')

_HISTORY_STDOUT = _NET.replace("{body}", '''ns = get_ipython().user_ns
        print(ns["In"])  # a list: its repr() puts each cell on one line
        print(ns["_ih"][-1])
        raise RuntimeError(repr(ns["_ih"][-1]))''')

_HTML_SOURCE = _NET.replace("{body}", '''import html
        from IPython.display import HTML, display
        display(HTML("<pre>" + html.escape(get_ipython().user_ns["_ih"][-1]) + "</pre>"))
        raise RuntimeError("shown above")''')

_HTML_SCRIPT = '''
from IPython.display import HTML, display
display(HTML("""<script>alert("PWN-{case}")</script><img src=x onerror="alert('PWN-{case}')">
<a href="javascript:alert('PWN-{case}')">click</a><iframe src="javascript:alert('PWN-{case}')"></iframe>"""))
'''

_MARKDOWN_SCRIPT = '''
from IPython.display import Markdown, display
display(Markdown("""# Results <script>alert("PWN-{case}")</script>
<img src=x onerror="alert('PWN-{case}')"> [click](javascript:alert('PWN-{case}'))"""))
'''

_SVG_ONLOAD = '''
from IPython.display import SVG, Javascript, display
display(SVG("""<svg xmlns="http://www.w3.org/2000/svg" onload="alert('PWN-{case}')">
<script>alert("PWN-{case}")</script><circle r="5"/></svg>"""))
display(Javascript("alert('PWN-{case}')"))
'''

LEAK_CASES: tuple[Hostile, ...] = (
    Hostile("ih_in_error", "showing hidden tests in feedback", _IH_ERROR),
    Hostile("history_to_stdout", "showing hidden tests in feedback", _HISTORY_STDOUT),
    Hostile("source_as_html", "showing hidden tests in feedback", _HTML_SOURCE),
    Hostile("html_script", "script in the feedback HTML", _HTML_SCRIPT),
    Hostile("markdown_script", "script in the feedback HTML", _MARKDOWN_SCRIPT),
    Hostile("svg_onload", "script in the feedback HTML", _SVG_ONLOAD),
)
