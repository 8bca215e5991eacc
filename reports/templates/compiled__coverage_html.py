# stackcast compiled template: sha256 f442a740b38f26e3b16507107bb94b8a39bee1eed4cfe134279fef1d1ab78ffd, jinja2 3.1.6
# Generated: do not edit; see stackcast.reports.templating.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = '_coverage.html'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    l_0_cov = resolve('cov')
    l_0_cells = missing
    try:
        t_1 = environment.filters['pct']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'pct' found.")
    try:
        t_2 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    def macro(l_1_r):
        t_3 = []
        if l_1_r is missing:
            l_1_r = undefined("parameter 'r' was not provided", name='r')
        pass
        t_3.extend((
            '<td>',
            escape(environment.getattr(l_1_r, 'n')),
            '</td>\n<td>',
            escape(t_1(environment.getattr(l_1_r, 'coverage'))),
            '</td>\n<td>',
        ))
        if (not t_2(environment.getattr(l_1_r, 'low'))):
            pass
            t_3.extend((
                escape(t_1(environment.getattr(l_1_r, 'low'))),
                ' – ',
                escape(t_1(environment.getattr(l_1_r, 'high'))),
            ))
        else:
            pass
            t_3.append(
                '—',
            )
        t_3.append(
            '</td>\n<td class="l">',
        )
        if (environment.getattr(l_1_r, 'flag') == 'low'):
            pass
            t_3.append(
                '<span class="badge">below</span>',
            )
        elif (environment.getattr(l_1_r, 'flag') == 'high'):
            pass
            t_3.append(
                '<span class="badge">above</span>',
            )
        t_3.append(
            '</td>\n',
        )
        return concat(t_3)
    context.exported_vars.add('cells')
    context.vars['cells'] = l_0_cells = Macro(environment, macro, 'cells', ('r',), False, False, False, context.eval_ctx.autoescape)
    if (undefined(name='cov') if l_0_cov is missing else l_0_cov):
        pass
        yield '<h3>Interval coverage by fold</h3>\n<div class="table-wrap">\n  <table aria-label="coverage by fold">\n    <thead>\n      <tr><th>fold</th><th class="l">test origins</th><th>n</th><th>coverage</th><th>within 2 s.e. of nominal</th><th class="l"></th></tr>\n    </thead>\n    <tbody>\n'
        for l_1_r in environment.getattr((undefined(name='cov') if l_0_cov is missing else l_0_cov), 'folds'):
            _loop_vars = {}
            pass
            yield '      <tr>\n        <td>'
            yield escape(environment.getattr(l_1_r, 'fold'))
            yield '</td>\n        <td class="l">'
            yield escape((environment.getattr(l_1_r, 'test_start') or ''))
            if environment.getattr(l_1_r, 'test_end'):
                pass
                yield ' .. '
                yield escape(environment.getattr(l_1_r, 'test_end'))
            yield '</td>\n        '
            yield escape(context.call((undefined(name='cells') if l_0_cells is missing else l_0_cells), l_1_r, _loop_vars=_loop_vars))
            yield '\n      </tr>\n'
        l_1_r = missing
        yield '    </tbody>\n  </table>\n</div>\n'
        if environment.getattr((undefined(name='cov') if l_0_cov is missing else l_0_cov), 'tickers'):
            pass
            yield '<h3>Interval coverage by ticker</h3>\n<div class="table-wrap">\n  <table aria-label="coverage by ticker">\n    <thead>\n      <tr><th class="l">ticker</th><th>n</th><th>coverage</th><th>within 2 s.e. of nominal</th><th class="l"></th></tr>\n    </thead>\n    <tbody>\n'
            for l_1_r in environment.getattr((undefined(name='cov') if l_0_cov is missing else l_0_cov), 'tickers'):
                _loop_vars = {}
                pass
                yield '      <tr>\n        <td class="l">'
                yield escape(environment.getattr(l_1_r, 'ticker'))
                yield '</td>\n        '
                yield escape(context.call((undefined(name='cells') if l_0_cells is missing else l_0_cells), l_1_r, _loop_vars=_loop_vars))
                yield '\n      </tr>\n'
            l_1_r = missing
            yield '    </tbody>\n  </table>\n</div>\n'
        yield '<p class="note">Share of realised outcomes inside the model\'s interval over every horizon, per\n  walk-forward fold and per ticker'
        if (not t_2(environment.getattr((undefined(name='cov') if l_0_cov is missing else l_0_cov), 'nominal'))):
            pass
            yield ', against the nominal '
            yield escape(t_1(environment.getattr((undefined(name='cov') if l_0_cov is missing else l_0_cov), 'nominal'), 0))
        yield '.\n  A group is marked when its coverage lies more than two standard errors from nominal: below,\n  the band was too narrow there; above, wider than needed. The standard error allows for\n  overlapping targets and same-day outcomes of different tickers (rows clustered by origin\n  date, h&minus;1 lags of dates); with few origin dates it is still somewhat optimistic, so a\n  mark is a place to look, not proof of miscalibration.'
        if (not environment.getattr((undefined(name='cov') if l_0_cov is missing else l_0_cov), 'all_tickers')):
            pass
            yield '  Tickers: '
            yield escape(environment.getattr((undefined(name='cov') if l_0_cov is missing else l_0_cov), 'tickers_flagged'))
            yield ' of '
            yield escape(environment.getattr((undefined(name='cov') if l_0_cov is missing else l_0_cov), 'tickers_total'))
            yield " marked, listed above; every\n  ticker's coverage is on its page."
        yield '</p>\n'

blocks = {}
debug_info = '2=25&3=32&4=34&5=37&6=52&8=68&16=71&18=75&19=77&20=83&26=87&34=90&36=94&37=96&45=101&50=106&51=109'