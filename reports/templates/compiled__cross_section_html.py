# stackcast compiled template: sha256 632f57062bd256af24abf5a93296f345faea15d2f9ba0d274a636279e1bb15df, jinja2 3.1.6
# Generated: do not edit; see stackcast.reports.templating.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = '_cross_section.html'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_cross = resolve('cross')
    l_0_fig = resolve('fig')
    try:
        t_1 = environment.filters['join']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'join' found.")
    try:
        t_2 = environment.filters['num']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'num' found.")
    try:
        t_3 = environment.filters['pct']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'pct' found.")
    pass
    yield '<section id="cross-section">\n  <h2>Across tickers: skill against the random walk</h2>\n'
    if environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'summary'):
        pass
        yield '  <p class="note">Per ticker and horizon, the model\'s MAE divided by the random walk\'s on the same\n    forecasts (below 1: the model was better). '
        yield escape(environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'tickers'))
        yield ' ticker(s); each has its own page\n    with its forecasts, errors and trading.</p>\n'
        if environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'family'):
            pass
            yield '  <p class="note family">Tickers are ranked by their estimated ratio, which is not evidence of\n    skill: with no skill at all about half of them would land below 1, and the lowest ratios would\n    still look good. The evidence is the "beats RW" flag. '
            yield escape(environment.getattr(environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'family'), 'note'))
            yield '\n'
            if environment.getattr(environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'family'), 'flagged_tickers'):
                pass
                yield 'Flagged: '
                yield escape(t_1(context.eval_ctx, environment.getattr(environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'family'), 'flagged_tickers'), ', '))
                yield '.'
            yield '</p>\n'
        if environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'few'):
            pass
            yield '  <p class="note">Every ticker is listed below; the distribution over tickers (histogram and\n    quantiles) is shown from '
            yield escape(environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'min_tickers'))
            yield ' tickers up.</p>\n'
        else:
            pass
            if environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'skill'):
                pass
                yield '  <figure>\n    <div class="scroll"><img src="'
                yield escape(environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'skill'))
                yield '" alt="per-ticker MAE ratio model / random walk, per horizon"></div>\n    <figcaption>Distribution of the per-ticker MAE ratio model / random walk (dashed: 1).</figcaption>\n  </figure>\n'
            yield '  <h3>Skill ratio by horizon: quantiles over tickers</h3>\n  <div class="table-wrap">\n    <table>\n      <thead>\n        <tr><th>h</th><th>tickers</th><th>model better</th><th>10%</th><th>median</th><th>90%</th></tr>\n      </thead>\n      <tbody>\n'
            for l_1_s in environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'summary'):
                _loop_vars = {}
                pass
                yield '        <tr>\n          <td>'
                yield escape(environment.getattr(l_1_s, 'horizon'))
                yield '</td>\n          <td>'
                yield escape(environment.getattr(l_1_s, 'tickers'))
                yield '</td>\n          <td>'
                yield escape(environment.getattr(l_1_s, 'better'))
                yield ' ('
                yield escape(t_3(environment.getattr(l_1_s, 'share_better'), 0))
                yield ')</td>\n          <td>'
                yield escape(t_2(environment.getattr(l_1_s, 'q10'), 3))
                yield '</td>\n          <td>'
                yield escape(t_2(environment.getattr(l_1_s, 'median'), 3))
                yield '</td>\n          <td>'
                yield escape(t_2(environment.getattr(l_1_s, 'q90'), 3))
                yield '</td>\n        </tr>\n'
            l_1_s = missing
            yield '      </tbody>\n    </table>\n  </div>\n'
        for (l_1_label, l_1_rows, l_1_id) in ([('Every ticker', environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'best'), 'every-ticker')] if environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'few') else [('Lowest ratios', environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'best'), 'best-tickers'), ('Highest ratios', environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'worst'), 'worst-tickers')]):
            _loop_vars = {}
            pass
            yield '  <h3 id="'
            yield escape(l_1_id)
            yield '">'
            yield escape(l_1_label)
            yield ' (mean ratio over horizons)</h3>\n  <div class="table-wrap">\n    <table class="'
            yield escape(l_1_id)
            yield '">\n      <thead>\n        <tr>\n          <th class="l">ticker</th><th>n</th><th>mean ratio</th>\n'
            for l_2_h in environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'horizons'):
                _loop_vars = {}
                pass
                yield '<th>h='
                yield escape(l_2_h)
                yield '</th>'
            l_2_h = missing
            yield '          <th class="l">beats RW at h (DM, Holm over tickers × horizons)</th>\n        </tr>\n      </thead>\n      <tbody>\n'
            for l_2_r in l_1_rows:
                _loop_vars = {}
                pass
                yield '        <tr>\n          <td class="l"><a href="'
                yield escape(environment.getattr(l_2_r, 'href'))
                yield '">'
                yield escape(environment.getattr(l_2_r, 'ticker'))
                yield '</a></td>\n          <td>'
                yield escape(environment.getattr(l_2_r, 'n'))
                yield '</td>\n          <td>'
                yield escape(t_2(environment.getattr(l_2_r, 'mean_ratio'), 3))
                yield '</td>\n'
                for l_3_h in environment.getattr((undefined(name='cross') if l_0_cross is missing else l_0_cross), 'horizons'):
                    _loop_vars = {}
                    pass
                    yield '<td>'
                    yield escape(t_2(context.call(environment.getattr(environment.getattr(l_2_r, 'ratios'), 'get'), l_3_h, _loop_vars=_loop_vars), 3))
                    yield '</td>'
                l_3_h = missing
                yield '          <td class="l">'
                yield escape((t_1(context.eval_ctx, environment.getattr(l_2_r, 'beats'), ', ') if environment.getattr(l_2_r, 'beats') else '—'))
                yield '</td>\n        </tr>\n'
            l_2_r = missing
            yield '      </tbody>\n    </table>\n  </div>\n'
        l_1_label = l_1_rows = l_1_id = missing
    else:
        pass
        yield '  <p class="empty">No per-ticker scores in this run.</p>\n'
    yield '</section>'

blocks = {}
debug_info = '3=32&5=35&7=37&10=40&11=42&13=48&15=51&17=55&19=58&30=61&32=65&33=67&34=69&35=73&36=75&37=77&44=81&45=85&47=89&51=91&56=99&58=103&59=107&60=109&61=111&62=119'