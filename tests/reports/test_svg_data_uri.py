"""svg_chart.data_uri: line charts stacked into one standalone SVG document for an <img>."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import numpy as np
from stackcast.reports.svg_chart import SVG_NS, Line, data_uri, line_chart


def test_charts_stack_into_one_valid_svg_document() -> None:
    x = np.array(["2024-01-02", "2024-01-03", "2024-01-04"], dtype="datetime64[D]")
    a = line_chart([Line(x, np.array([1.0, 2.0, 3.0]), "#000", "a <&> b")], title="T&<1>")
    b = line_chart([Line(x, np.array([0.0, -1.0, 0.5]), "#111")], height=140)
    uri = data_uri([a, None, b])
    assert uri is not None and uri.startswith("data:image/svg+xml;base64,")
    doc = base64.b64decode(uri.split(",", 1)[1]).decode("utf-8")
    root = ET.fromstring(doc)  # well-formed XML: every text escaped
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert (root.get("width"), root.get("height")) == ("760", str(240 + 140))
    texts = [t.text for t in root.iter(f"{{{SVG_NS}}}text")]
    assert "T&<1>" in texts and "a <&> b" in texts
    assert data_uri([None]) is None
