"""A hostile answer cell that tries to show secrets or run script in the reader's browser.

:func:`every_leak` is the answer cell for ``ex_deepnet_relu`` of an otherwise blank tutorial 1
submission, graded with feedback by ``tests/course/test_feedback.py``. Its ``DeepNetReLU`` is
called by the test cell, so its ``forward`` runs *inside* the test cell, whose source (hidden
tests included) is ``_ih[-1]``: it prints that source and the whole input history, shows it as
HTML and raises it. The cell also shows HTML, Markdown, SVG and JavaScript that carry
``PWN-<case>``: no script, handler or ``javascript:`` URL carrying it may survive in the feedback
HTML, and no line of a hidden test may appear in it.
"""

from __future__ import annotations

_SHOWN = '''
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML("""<script>alert("PWN-{case}")</script><img src=x onerror="alert('PWN-{case}')">
<a href="javascript:alert('PWN-{case}')">click</a><iframe src="javascript:alert('PWN-{case}')"></iframe>"""))
display(Markdown("""# Results <script>alert("PWN-{case}")</script>
<img src=x onerror="alert('PWN-{case}')"> [click](javascript:alert('PWN-{case}'))"""))
display(SVG("""<svg xmlns="http://www.w3.org/2000/svg" onload="alert('PWN-{case}')">
<script>alert("PWN-{case}")</script><circle r="5"/></svg>"""))
display(Javascript("alert('PWN-{case}')"))
'''

_NET = '''
import torch.nn as nn
class DeepNetReLU(nn.Module):
    def __init__(self, n_inputs, n_hidden):
        super().__init__()
    def forward(self, r):
        import html
        from IPython.display import HTML, display
        ns = get_ipython().user_ns
        print(ns["In"])  # a list: its repr() puts each cell on one line
        print(ns["_ih"][-1])
        display(HTML("<pre>" + html.escape(ns["_ih"][-1]) + "</pre>"))
        raise RuntimeError(ns["_ih"][-1])
'''


def every_leak(case: str) -> str:
    """The hostile answer cell (see the module docstring), its payloads marked ``PWN-<case>``."""
    return _SHOWN.format(case=case) + _NET
