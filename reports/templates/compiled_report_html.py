# stackcast compiled template: sha256 09773ba3e911da0e96fefa72146fcd6482859f29ebcbe8131b878a646f1867e4, jinja2 3.1.6
# Generated: do not edit; see stackcast.reports.templating.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'report.html'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    parent_template = None
    pass
    parent_template = environment.get_template('base.html', 'report.html')
    for name, parent_block in parent_template.blocks.items():
        context.blocks.setdefault(name, []).append(parent_block)
    yield from parent_template.root_render_func(context)

def block_title(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    _block_vars = {}
    l_0_d = resolve('d')
    pass
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'title'))
    yield ' · '
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'run_id'))

def block_body(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    _block_vars = {}
    l_0_d = resolve('d')
    l_0_tickers = resolve('tickers')
    l_0_inline = resolve('inline')
    l_0_verdicts = resolve('verdicts')
    l_0_headline = resolve('headline')
    l_0_headline_rows = resolve('headline_rows')
    l_0_error_table = resolve('error_table')
    l_0_ticker_links = resolve('ticker_links')
    l_0_fig = resolve('fig')
    l_0_ticker_rows = resolve('ticker_rows')
    l_0_trading_rows = resolve('trading_rows')
    try:
        t_1 = environment.filters['join']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'join' found.")
    try:
        t_2 = environment.filters['length']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'length' found.")
    try:
        t_3 = environment.filters['num']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'num' found.")
    try:
        t_4 = environment.filters['pct']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'pct' found.")
    try:
        t_5 = environment.filters['pp']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'pp' found.")
    try:
        t_6 = environment.filters['pval']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No filter named 'pval' found.")
    try:
        t_7 = environment.filters['upper']
    except KeyError:
        @internalcode
        def t_7(*unused):
            raise TemplateRuntimeError("No filter named 'upper' found.")
    try:
        t_8 = environment.tests['defined']
    except KeyError:
        @internalcode
        def t_8(*unused):
            raise TemplateRuntimeError("No test named 'defined' found.")
    pass
    yield '<header class="top">\n  <h1>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'title'))
    yield '</h1>\n  <p class="meta">\n    <span>run <code>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'run_id'))
    yield '</code></span>\n    <span>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'created'))
    yield '</span>\n    <span>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'kind'))
    yield '</span>\n'
    if (undefined(name='tickers') if l_0_tickers is missing else l_0_tickers):
        pass
        yield '<span>'
        yield escape((t_1(context.eval_ctx, (undefined(name='tickers') if l_0_tickers is missing else l_0_tickers), ', ') if (undefined(name='inline') if l_0_inline is missing else l_0_inline) else markup_join((t_2((undefined(name='tickers') if l_0_tickers is missing else l_0_tickers)), ' tickers', ))))
        yield '</span>'
    yield '  </p>\n  <nav class="toc" aria-label="sections">\n    <a href="#headline">headline</a>\n    <a href="#cross-section">cross-section</a>\n    <a href="#forecasts">tickers</a>\n    <a href="#errors">errors</a>\n    <a href="#trading">trading</a>\n    <a href="#training">training</a>\n    <a href="#leakage">leakage audit</a>\n    <a href="#metadata">run metadata</a>\n  </nav>\n</header>\n\n'
    if environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'warnings'):
        pass
        yield '<ul class="warnings" aria-label="warnings">\n'
        for l_1_w in environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'warnings'):
            _loop_vars = {}
            pass
            yield '<li>'
            yield escape(l_1_w)
            yield '</li>'
        l_1_w = missing
        yield '</ul>\n'
    yield '\n<section id="headline">\n  <h2>Headline: the model against honest baselines</h2>\n'
    if (undefined(name='verdicts') if l_0_verdicts is missing else l_0_verdicts):
        pass
        yield '  <ul class="verdicts">\n'
        for l_1_v in (undefined(name='verdicts') if l_0_verdicts is missing else l_0_verdicts):
            _loop_vars = {}
            pass
            yield '    <li class="'
            yield escape(('yes' if environment.getattr(l_1_v, 'beats_random_walk') else 'no'))
            yield '">'
            yield escape(t_7(environment.getattr(l_1_v, 'sentence')[:1]))
            yield escape(environment.getattr(l_1_v, 'sentence')[1:])
            yield '.</li>\n'
        l_1_v = missing
        yield '  </ul>\n'
    if (t_8(environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'verdict_note')) and environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'verdict_note')):
        pass
        yield '<p class="note">'
        yield escape(environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'verdict_note'))
        yield '</p>'
    for l_1_peer in context.call(environment.getattr((environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'peers') if t_8(environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'peers')) else {}), 'values'), _block_vars=_block_vars):
        _loop_vars = {}
        pass
        yield '  <h3>'
        yield escape(environment.getattr(l_1_peer, 'label'))
        yield ' against the random walk and the model</h3>\n  <ul class="verdicts peers">\n'
        for l_2_s in environment.getattr(l_1_peer, 'sentences'):
            _loop_vars = {}
            pass
            yield '<li>'
            yield escape(t_7(l_2_s[:1]))
            yield escape(l_2_s[1:])
            yield '.</li>'
        l_2_s = missing
        yield '  </ul>\n  <p class="note">'
        yield escape(environment.getattr(l_1_peer, 'note'))
        yield '</p>\n'
    l_1_peer = missing
    if (t_8(environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'coverage_warnings')) and environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'coverage_warnings')):
        pass
        yield '  <ul class="warnings" aria-label="coverage warnings">\n'
        for l_1_w in environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'coverage_warnings'):
            _loop_vars = {}
            pass
            yield '<li>'
            yield escape(l_1_w)
            yield '</li>'
        l_1_w = missing
        yield '  </ul>\n'
    if context.call(environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'get'), 'scoring_warnings', _block_vars=_block_vars):
        pass
        yield '  <ul class="warnings" aria-label="scoring warnings">\n'
        for l_1_w in environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'scoring_warnings'):
            _loop_vars = {}
            pass
            yield '<li>'
            yield escape(l_1_w)
            yield '</li>'
        l_1_w = missing
        yield '  </ul>\n'
    if (undefined(name='headline_rows') if l_0_headline_rows is missing else l_0_headline_rows):
        pass
        yield '  <h3>Errors per horizon: model and baselines</h3>\n  '
        yield escape(context.call((undefined(name='error_table') if l_0_error_table is missing else l_0_error_table), (undefined(name='headline_rows') if l_0_headline_rows is missing else l_0_headline_rows), dir_p=True, nominal=True, mase=context.call(environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'get'), 'mase_coverage', _block_vars=_block_vars), _block_vars=_block_vars))
        yield '\n  <p class="note">\n    The lowest MAE per horizon is bold. Directional accuracy ignores days\n    without a move; its p-value is a one-sided binomial test against 50% (optimistic for h &gt; 1,\n    where neighbouring targets overlap). DM: Diebold-Mariano test of squared errors against the\n    random walk, pooled over tickers per origin date, with h&minus;1 autocovariance lags and the\n    Harvey-Leybourne-Newbold correction; negative statistics favour the model, p is one-sided\n    (model better) at a '
        yield escape((t_4(environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'significance'), 0) if t_8(environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'significance')) else '5%'))
        yield ' significance level;\n    Holm p is that p adjusted for testing every horizon, and "beats RW" is decided on it.\n    Coverage: share of outcomes inside the model\'s interval / nominal level.\n  </p>\n'
        template = environment.get_template('_coverage.html', 'report.html')
        gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
        try:
            for event in gen:
                yield event
        finally: gen.close()
    else:
        pass
        yield '  <p class="empty">No scored forecasts in this run.</p>\n'
    yield '</section>\n\n'
    template = environment.get_template('_cross_section.html', 'report.html')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()
    yield '\n<section id="forecasts">\n  <h2>Forecasts</h2>\n'
    if (undefined(name='ticker_links') if l_0_ticker_links is missing else l_0_ticker_links):
        pass
        yield '  <p class="ticker-links">Per-ticker pages (forecasts, errors, trading):\n'
        l_1_loop = missing
        for l_1_t, l_1_loop in LoopContext((undefined(name='ticker_links') if l_0_ticker_links is missing else l_0_ticker_links), undefined):
            _loop_vars = {}
            pass
            yield '<a href="'
            yield escape(environment.getattr(l_1_t, 'href'))
            yield '">'
            yield escape(environment.getattr(l_1_t, 'ticker'))
            yield '</a>'
            yield escape((', ' if (not environment.getattr(l_1_loop, 'last')) else cond_expr_undefined("the inline if-expression on line 82 in 'report.html' evaluated to false and no else section was defined.")))
        l_1_loop = l_1_t = missing
        yield '</p>\n'
    t_9 = 1
    for l_1_f in environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'forecasts'):
        _loop_vars = {}
        pass
        yield '  <figure>\n    <div class="scroll"><img src="'
        yield escape(environment.getattr(l_1_f, 'uri'))
        yield '" alt="forecasts for '
        yield escape(environment.getattr(l_1_f, 'ticker'))
        yield '"></div>\n    <figcaption>'
        yield escape(environment.getattr(l_1_f, 'ticker'))
        yield ': realised close (last '
        yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'config'), 'plot_last'))
        yield ' bars) with the 1-step\n      and H-step forecasts drawn at their target dates, bands where intervals are on; dashed: the\n      latest forecast path.</figcaption>\n  </figure>\n'
        t_9 = 0
    l_1_f = missing
    if t_9:
        pass
        if (undefined(name='inline') if l_0_inline is missing else l_0_inline):
            pass
            yield '<p class="empty">No forecasts to plot.</p>'
    yield '</section>\n\n<section id="errors">\n  <h2>Errors by fold, horizon and ticker</h2>\n'
    if environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'errors'):
        pass
        yield '  <figure>\n    <div class="scroll"><img src="'
        yield escape(environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'errors'))
        yield '" alt="error by fold and horizon"></div>\n    <figcaption>Left: model MAE divided by random-walk MAE in each walk-forward fold (below 1:\n      the model was better; folds numbered from 1, oldest first). Right: MAE per horizon,\n      averaged over folds.</figcaption>\n  </figure>\n'
    if environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'scatter'):
        pass
        yield '  <h3>Predicted against realised returns</h3>\n  <figure>\n    <div class="scroll"><img src="'
        yield escape(environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'scatter'))
        yield '" alt="realised against predicted log return per horizon, with OLS fits"></div>\n    <figcaption>Every ticker\'s scored forecasts pooled, one panel per horizon. The random walk\n      forecasts 0 (grey vertical line); dotted: a perfect forecast; orange: OLS of realised on\n      predicted, its slope ± standard error in the corner (near 1: well scaled; near 0: no usable\n      signal; negative: the wrong way round). The standard error allows for overlapping targets\n      and same-day errors: residual × forecast products summed per origin date, their variance\n      over h&minus;1 lags of dates as in the DM test (with its small-sample factor); with few\n      dates and very persistent forecasts it is still somewhat optimistic. The slope describes;\n      the DM test above decides. Axes stop at the 0.5% and 99.5% quantiles. A panel of more\n      than 800 forecasts shows a fixed random sample of 800 points; n, the fit and its slope use\n      every scored forecast.</figcaption>\n  </figure>\n'
    if environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'sqerr'):
        pass
        yield '  <h3>Cumulative squared-error difference against the random walk</h3>\n  <figure>\n    <div class="scroll"><img src="'
        yield escape(environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'sqerr'))
        yield '" alt="cumulative squared-error difference, model minus random walk, per horizon"></div>\n    <figcaption>Per forecast origin, the model\'s squared error minus the random walk\'s, averaged\n      over tickers and summed from the first origin (%²). Falling: the model gains on the random\n      walk over that stretch; rising: it loses.</figcaption>\n  </figure>\n'
    if (undefined(name='ticker_rows') if l_0_ticker_rows is missing else l_0_ticker_rows):
        pass
        yield '  <h3>By ticker: model against the random walk</h3>\n  <div class="table-wrap">\n    <table>\n      <thead>\n        <tr>\n          <th class="l">ticker</th><th>h</th><th>n</th><th>MAE % model</th><th>MAE % RW</th>\n          <th>MASE</th><th>rel. MAE</th><th>dir. acc.</th><th>DM stat</th><th>DM p</th><th class="l">beats RW</th>\n        </tr>\n      </thead>\n      <tbody>\n'
        l_1_loop = missing
        for l_1_r, l_1_loop in LoopContext((undefined(name='ticker_rows') if l_0_ticker_rows is missing else l_0_ticker_rows), undefined):
            _loop_vars = {}
            pass
            yield '        <tr class="'
            yield escape(('group-start' if ((environment.getattr(l_1_r, 'horizon') == 1) and (not environment.getattr(l_1_loop, 'first'))) else cond_expr_undefined("the inline if-expression on line 143 in 'report.html' evaluated to false and no else section was defined.")))
            yield '">\n          <td class="l">'
            yield escape(environment.getattr(l_1_r, 'ticker'))
            yield '</td>\n          <td>'
            yield escape(environment.getattr(l_1_r, 'horizon'))
            yield '</td>\n          <td>'
            yield escape(environment.getattr(l_1_r, 'n'))
            yield '</td>\n          <td>'
            yield escape(t_5(environment.getattr(l_1_r, 'mae')))
            yield '</td>\n          <td>'
            yield escape(t_5(context.call(environment.getattr(environment.getattr(l_1_r, 'rw'), 'get'), 'mae', _loop_vars=_loop_vars)))
            yield '</td>\n          <td>'
            yield escape(t_3(environment.getattr(l_1_r, 'mase'), 3))
            yield '</td>\n          <td>'
            yield escape(t_3(context.call(environment.getattr(l_1_r, 'get'), 'rel_mae', _loop_vars=_loop_vars), 3))
            yield '</td>\n          <td>'
            yield escape(t_4(environment.getattr(l_1_r, 'dir_acc')))
            yield '</td>\n          <td>'
            yield escape((t_3(environment.getattr(environment.getattr(l_1_r, 'dm'), 'stat'), 2) if t_8(environment.getattr(environment.getattr(l_1_r, 'dm'), 'stat')) else '—'))
            yield '</td>\n          <td>'
            yield escape((t_6(environment.getattr(environment.getattr(l_1_r, 'dm'), 'p_one_sided')) if t_8(environment.getattr(environment.getattr(l_1_r, 'dm'), 'p_one_sided')) else '—'))
            yield '</td>\n          <td class="l">'
            if context.call(environment.getattr(environment.getattr(l_1_r, 'dm'), 'get'), 'beats_random_walk', _loop_vars=_loop_vars):
                pass
                yield '<span class="badge yes">yes</span>'
            else:
                pass
                yield '<span class="badge">no</span>'
            yield '</td>\n        </tr>\n'
        l_1_loop = l_1_r = missing
        yield '      </tbody>\n    </table>\n  </div>\n'
        if (t_8(environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'dm')) and t_8(environment.getattr(environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'dm'), 'ticker_family'))):
            pass
            yield '<p class="note">'
            yield escape(environment.getattr(environment.getattr(environment.getattr((undefined(name='headline') if l_0_headline is missing else l_0_headline), 'dm'), 'ticker_family'), 'note'))
            yield '</p>'
    elif (not environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'errors')):
        pass
        yield '  <p class="empty">No errors to show.</p>\n'
    yield '</section>\n\n<section id="trading">\n  <h2>Trading the 1-step forecast</h2>\n'
    if (undefined(name='trading_rows') if l_0_trading_rows is missing else l_0_trading_rows):
        pass
        yield '  <p class="note">Position decided at each close from the sign of the 1-step forecast\n    (long/flat: long when positive; long/short: the sign), against buy &amp; hold, and traded at the\n    next bar, never at the close that produced the signal.\n    Returns compound as simple returns; costs '
        yield escape(t_3(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'trading'), 'cost_bps'), 1))
        yield ' bps per unit of\n    turnover; '
        yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'trading'), 'periods_per_year'))
        yield ' bars a year; equal-weight portfolio re-balanced daily.</p>\n  <p class="fill '
        yield escape(('fallback' if environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'trading'), 'fallback') else cond_expr_undefined("the inline if-expression on line 174 in 'report.html' evaluated to false and no else section was defined.")))
        yield '" id="fill">'
        yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'trading'), 'fill_note'))
        yield '</p>\n  <h3>Performance after costs</h3>\n  <div class="table-wrap">\n    <table>\n      <thead>\n        <tr>\n          <th class="l">series</th><th class="l">rule</th><th>bars</th><th>total</th><th>CAGR</th>\n          <th>vol.</th><th>Sharpe</th><th>Sortino</th><th>max DD</th><th>Calmar</th>\n          <th>turnover/yr</th><th>hit rate</th><th>exposure</th>\n        </tr>\n      </thead>\n      <tbody>\n'
        l_1_loop = missing
        for l_1_r, l_1_loop in LoopContext((undefined(name='trading_rows') if l_0_trading_rows is missing else l_0_trading_rows), undefined):
            _loop_vars = {}
            pass
            yield '        <tr class="'
            yield escape(('group-start' if ((environment.getattr(l_1_r, 'strategy') == 'long_flat') and (not environment.getattr(l_1_loop, 'first'))) else cond_expr_undefined("the inline if-expression on line 187 in 'report.html' evaluated to false and no else section was defined.")))
            yield '">\n          <td class="l">'
            yield escape(environment.getattr(l_1_r, 'name'))
            yield '</td>\n          <td class="l">'
            yield escape(environment.getattr(l_1_r, 'label'))
            yield '</td>\n          <td>'
            yield escape(environment.getattr(l_1_r, 'bars'))
            yield '</td>\n          <td>'
            yield escape(t_4(environment.getattr(l_1_r, 'total_return')))
            yield '</td>\n          <td>'
            yield escape(t_4(environment.getattr(l_1_r, 'cagr')))
            yield '</td>\n          <td>'
            yield escape(t_4(environment.getattr(l_1_r, 'volatility')))
            yield '</td>\n          <td>'
            yield escape(t_3(environment.getattr(l_1_r, 'sharpe'), 2))
            yield '</td>\n          <td>'
            yield escape(t_3(environment.getattr(l_1_r, 'sortino'), 2))
            yield '</td>\n          <td>'
            yield escape(t_4(environment.getattr(l_1_r, 'max_drawdown')))
            yield '</td>\n          <td>'
            yield escape(t_3(environment.getattr(l_1_r, 'calmar'), 2))
            yield '</td>\n          <td>'
            yield escape(t_3(environment.getattr(l_1_r, 'turnover'), 1))
            yield '</td>\n          <td>'
            yield escape(t_4(environment.getattr(l_1_r, 'hit_rate')))
            yield '</td>\n          <td>'
            yield escape(t_4(environment.getattr(l_1_r, 'exposure'), 0))
            yield '</td>\n        </tr>\n'
        l_1_loop = l_1_r = missing
        yield '      </tbody>\n    </table>\n  </div>\n'
        if environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'equity'):
            pass
            yield '<h3>Equity and drawdown</h3>'
        for l_1_f in environment.getattr((undefined(name='fig') if l_0_fig is missing else l_0_fig), 'equity'):
            _loop_vars = {}
            pass
            yield '  <figure>\n    <div class="scroll"><img src="'
            yield escape(environment.getattr(l_1_f, 'uri'))
            yield '" alt="equity and drawdown: '
            yield escape(environment.getattr(l_1_f, 'name'))
            yield '"></div>\n  </figure>\n'
        l_1_f = missing
    else:
        pass
        yield '  <p class="empty">No trading simulation in this run.</p>\n'
    yield '</section>\n\n'
    template = environment.get_template('_run_details.html', 'report.html')
    gen = template.root_render_func(template.new_context(context.get_all(), True, {}))
    try:
        for event in gen:
            yield event
    finally: gen.close()

blocks = {'title': block_title, 'body': block_body}
debug_info = '1=12&2=17&3=30&5=98&7=100&8=102&9=104&10=106&24=112&26=115&32=124&34=127&35=131&39=138&40=143&41=147&43=149&45=158&47=161&49=164&52=172&54=175&57=183&59=186&66=188&70=190&76=200&80=207&82=211&84=223&86=227&87=231&92=239&98=243&100=246&106=248&109=251&122=253&125=256&131=258&142=262&143=266&144=268&145=270&146=272&147=274&148=276&149=278&150=280&151=282&152=284&153=286&154=288&160=297&161=302&168=306&172=309&173=311&174=313&186=318&187=322&188=324&189=326&190=328&191=330&192=332&193=334&194=336&195=338&196=340&197=342&198=344&199=346&200=348&206=352&207=355&209=359&217=368'