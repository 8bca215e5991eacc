# stackcast compiled template: sha256 ff60bf57a1f33403cd9760171f86809c3a22b45a0983b7fb7f58b98d064fb51b, jinja2 3.1.6
# Generated: do not edit; see stackcast.reports.templating.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'ticker.html'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    parent_template = None
    pass
    parent_template = environment.get_template('base.html', 'ticker.html')
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
    l_0_ticker = resolve('ticker')
    l_0_title = resolve('title')
    l_0_run_id = resolve('run_id')
    pass
    yield escape((undefined(name='ticker') if l_0_ticker is missing else l_0_ticker))
    yield ' · '
    yield escape((undefined(name='title') if l_0_title is missing else l_0_title))
    yield ' · '
    yield escape((undefined(name='run_id') if l_0_run_id is missing else l_0_run_id))

def block_body(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    _block_vars = {}
    l_0_ticker = resolve('ticker')
    l_0_title = resolve('title')
    l_0_run_id = resolve('run_id')
    l_0_created = resolve('created')
    l_0_prev = resolve('prev')
    l_0_next = resolve('next')
    l_0_charts = resolve('charts')
    l_0_error_rows = resolve('error_rows')
    l_0_error_table = resolve('error_table')
    l_0_family = resolve('family')
    l_0_trading_rows = resolve('trading_rows')
    l_0_data_range = resolve('data_range')
    try:
        t_1 = environment.filters['num']
    except KeyError:
        @internalcode
        def t_1(*unused):
            raise TemplateRuntimeError("No filter named 'num' found.")
    try:
        t_2 = environment.filters['pct']
    except KeyError:
        @internalcode
        def t_2(*unused):
            raise TemplateRuntimeError("No filter named 'pct' found.")
    try:
        t_3 = environment.filters['urlpath']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'urlpath' found.")
    try:
        t_4 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    yield '<header class="top">\n  <h1>'
    yield escape((undefined(name='ticker') if l_0_ticker is missing else l_0_ticker))
    yield '</h1>\n  <p class="meta">\n    <span>'
    yield escape((undefined(name='title') if l_0_title is missing else l_0_title))
    yield '</span>\n    <span>run <code>'
    yield escape((undefined(name='run_id') if l_0_run_id is missing else l_0_run_id))
    yield '</code></span>\n    <span>'
    yield escape((undefined(name='created') if l_0_created is missing else l_0_created))
    yield '</span>\n  </p>\n  <nav class="toc" aria-label="pages">\n    <a href="../report.html" rel="up">back to the report</a>\n    <a href="../report.html#cross-section">cross-section</a>\n'
    if (undefined(name='prev') if l_0_prev is missing else l_0_prev):
        pass
        yield '<a href="'
        yield escape(t_3(environment.getattr((undefined(name='prev') if l_0_prev is missing else l_0_prev), 'href')))
        yield '" rel="prev">&larr; '
        yield escape(environment.getattr((undefined(name='prev') if l_0_prev is missing else l_0_prev), 'ticker'))
        yield '</a>'
    if (undefined(name='next') if l_0_next is missing else l_0_next):
        pass
        yield '<a href="'
        yield escape(t_3(environment.getattr((undefined(name='next') if l_0_next is missing else l_0_next), 'href')))
        yield '" rel="next">'
        yield escape(environment.getattr((undefined(name='next') if l_0_next is missing else l_0_next), 'ticker'))
        yield ' &rarr;</a>'
    yield '  </nav>\n</header>\n\n<section id="ticker-forecasts">\n  <h2>Forecasts, equity and drawdown</h2>\n'
    if (undefined(name='charts') if l_0_charts is missing else l_0_charts):
        pass
        yield '  <figure>\n'
        for l_1_c in (undefined(name='charts') if l_0_charts is missing else l_0_charts):
            _loop_vars = {}
            pass
            yield '<div class="scroll">'
            yield escape(l_1_c)
            yield '</div>'
        l_1_c = missing
        yield '    <figcaption>Top: realised close with the 1-step and H-step forecasts drawn at their target\n      dates (bands where intervals are on; dashed: the latest forecast path). Below: equity and\n      drawdown of trading the 1-step forecast after costs, against buy &amp; hold.</figcaption>\n  </figure>\n'
    else:
        pass
        yield '  <p class="empty">Nothing to plot for this ticker.</p>\n'
    yield '</section>\n\n<section id="ticker-errors">\n  <h2>Errors by horizon</h2>\n'
    if (undefined(name='error_rows') if l_0_error_rows is missing else l_0_error_rows):
        pass
        yield '  '
        yield escape(context.call((undefined(name='error_table') if l_0_error_table is missing else l_0_error_table), (undefined(name='error_rows') if l_0_error_rows is missing else l_0_error_rows), _block_vars=_block_vars))
        yield '\n  <p class="note">Errors of log-return forecasts, ×100 (about percent); the lowest MAE per horizon\n    is bold. DM: Diebold-Mariano test of this ticker\'s squared errors against the random walk\n    (one-sided p, model better); Holm p adjusts it for testing every ticker at every horizon of the\n    run'
        if (undefined(name='family') if l_0_family is missing else l_0_family):
            pass
            yield ' ('
            yield escape(environment.getattr((undefined(name='family') if l_0_family is missing else l_0_family), 'tests'))
            yield ' tests)'
        yield ', and "beats RW" is decided on it, so a\n    flag among many tickers is not a chance winner.</p>\n'
    else:
        pass
        yield '  <p class="empty">No scored forecasts for this ticker.</p>\n'
    yield '</section>\n\n<section id="ticker-trading">\n  <h2>Trading the 1-step forecast</h2>\n'
    if (undefined(name='trading_rows') if l_0_trading_rows is missing else l_0_trading_rows):
        pass
        yield '  <div class="table-wrap">\n    <table>\n      <thead>\n        <tr>\n          <th class="l">rule</th><th>bars</th><th>total</th><th>CAGR</th><th>vol.</th><th>Sharpe</th>\n          <th>max DD</th><th>turnover/yr</th><th>hit rate</th><th>exposure</th>\n        </tr>\n      </thead>\n      <tbody>\n'
        for l_1_r in (undefined(name='trading_rows') if l_0_trading_rows is missing else l_0_trading_rows):
            _loop_vars = {}
            pass
            yield '        <tr>\n          <td class="l">'
            yield escape(environment.getattr(l_1_r, 'label'))
            yield '</td>\n          <td>'
            yield escape(environment.getattr(l_1_r, 'bars'))
            yield '</td>\n          <td>'
            yield escape(t_2(environment.getattr(l_1_r, 'total_return')))
            yield '</td>\n          <td>'
            yield escape(t_2(environment.getattr(l_1_r, 'cagr')))
            yield '</td>\n          <td>'
            yield escape(t_2(environment.getattr(l_1_r, 'volatility')))
            yield '</td>\n          <td>'
            yield escape(t_1(environment.getattr(l_1_r, 'sharpe'), 2))
            yield '</td>\n          <td>'
            yield escape(t_2(environment.getattr(l_1_r, 'max_drawdown')))
            yield '</td>\n          <td>'
            yield escape(t_1(environment.getattr(l_1_r, 'turnover'), 1))
            yield '</td>\n          <td>'
            yield escape(t_2(environment.getattr(l_1_r, 'hit_rate')))
            yield '</td>\n          <td>'
            yield escape(t_2(environment.getattr(l_1_r, 'exposure'), 0))
            yield '</td>\n        </tr>\n'
        l_1_r = missing
        yield '      </tbody>\n    </table>\n  </div>\n'
    else:
        pass
        yield '  <p class="empty">No trading simulation for this ticker.</p>\n'
    yield '</section>\n\n'
    if (undefined(name='data_range') if l_0_data_range is missing else l_0_data_range):
        pass
        yield '<section id="ticker-data">\n  <h2>Data</h2>\n  <dl class="kv">\n'
        def t_5(fiter):
            for (l_1_k, l_1_v) in fiter:
                if (l_1_k != 'ticker'):
                    yield (l_1_k, l_1_v)
        for (l_1_k, l_1_v) in t_5(context.call(environment.getattr((undefined(name='data_range') if l_0_data_range is missing else l_0_data_range), 'items'), _block_vars=_block_vars)):
            _loop_vars = {}
            pass
            yield '    <dt>'
            yield escape(l_1_k)
            yield '</dt><dd>'
            yield escape((l_1_v if (not t_4(l_1_v)) else '—'))
            yield '</dd>\n'
        l_1_k = l_1_v = missing
        yield '  </dl>\n</section>\n'

blocks = {'title': block_title, 'body': block_body}
debug_info = '1=12&2=17&3=34&5=79&7=81&8=83&9=85&14=87&15=94&21=102&23=105&35=117&36=120&40=122&49=132&59=135&61=139&62=141&63=143&64=145&65=147&66=149&67=151&68=153&69=155&70=157&81=165&85=168&86=176'