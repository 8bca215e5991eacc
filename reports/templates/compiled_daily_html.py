# stackcast compiled template: sha256 2571d08d32ff21b2f5e57ff34180d91782121d2ed1ad1f66d26b43c034b26cab, jinja2 3.1.6
# Generated: do not edit; see stackcast.reports.templating.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'daily.html'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    parent_template = None
    pass
    parent_template = environment.get_template('base.html', 'daily.html')
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
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'as_of'))

def block_body(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    _block_vars = {}
    l_0_d = resolve('d')
    l_0_forecasts = resolve('forecasts')
    l_0_score = resolve('score')
    l_0_coverage_warnings = resolve('coverage_warnings')
    l_0_plot = resolve('plot')
    l_0_score_by_ticker = resolve('score_by_ticker')
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
        t_3 = environment.filters['pp']
    except KeyError:
        @internalcode
        def t_3(*unused):
            raise TemplateRuntimeError("No filter named 'pp' found.")
    try:
        t_4 = environment.tests['defined']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No test named 'defined' found.")
    try:
        t_5 = environment.tests['none']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No test named 'none' found.")
    pass
    yield '<header class="top">\n  <h1>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'title'))
    yield '</h1>\n  <p class="meta">\n    <span>run <code>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'run_id'))
    yield '</code></span>\n    <span>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'created'))
    yield '</span>\n    <span>daily forecast as of '
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'as_of'))
    yield '</span>\n    <span>model '
    yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'model'), 'name'))
    yield ' '
    yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'model'), 'version'))
    if environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'model'), 'seen_until'):
        pass
        yield ', seen prices up to '
        yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'model'), 'seen_until'))
    yield '</span>\n  </p>\n  <nav class="toc" aria-label="sections">\n    <a href="#forecasts">forecasts</a>\n    <a href="#scoreboard">scoreboard</a>\n    <a href="#metadata">model</a>\n  </nav>\n</header>\n\n'
    if (environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'warnings') or environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'failed')):
        pass
        yield '<ul class="warnings" aria-label="warnings">\n'
        for (l_1_t, l_1_why) in context.call(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'failed'), 'items'), _block_vars=_block_vars):
            _loop_vars = {}
            pass
            yield '<li>'
            yield escape(l_1_t)
            yield ': not forecast: '
            yield escape(l_1_why)
            yield '</li>'
        l_1_t = l_1_why = missing
        for l_1_w in environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'warnings'):
            _loop_vars = {}
            pass
            yield '<li>'
            yield escape(l_1_w)
            yield '</li>'
        l_1_w = missing
        yield '</ul>\n'
    yield '\n<section id="forecasts">\n  <h2>Forecasts</h2>\n'
    if (undefined(name='forecasts') if l_0_forecasts is missing else l_0_forecasts):
        pass
        yield '  <h3>Today\'s forecasts by ticker and horizon</h3>\n  <div class="table-wrap">\n    <table>\n      <thead><tr>\n        <th class="l">ticker</th><th>h</th><th class="l">target date</th><th>forecast</th>\n        <th>interval</th><th>change</th><th>close</th><th class="l">origin</th>\n      </tr></thead>\n      <tbody>\n'
        for l_1_r in (undefined(name='forecasts') if l_0_forecasts is missing else l_0_forecasts):
            _loop_vars = {}
            pass
            yield '        <tr>\n          <td class="l">'
            yield escape(environment.getattr(l_1_r, 'ticker'))
            yield '</td><td>'
            yield escape(environment.getattr(l_1_r, 'horizon'))
            yield '</td><td class="l">'
            yield escape(environment.getattr(l_1_r, 'target_date'))
            yield '</td>\n          <td><b>'
            yield escape(t_1(environment.getattr(l_1_r, 'price_pred'), 2))
            yield '</b></td>\n          <td class="interval">'
            if (not t_5(environment.getattr(l_1_r, 'price_lo'))):
                pass
                yield escape(t_1(environment.getattr(l_1_r, 'price_lo'), 2))
                yield ' – '
                yield escape(t_1(environment.getattr(l_1_r, 'price_hi'), 2))
            else:
                pass
                yield '—'
            yield '</td>\n          <td>'
            yield escape(t_2(environment.getattr(l_1_r, 'change'), 2))
            yield '</td><td>'
            yield escape(t_1(environment.getattr(l_1_r, 'origin_close'), 2))
            yield '</td><td class="l">'
            yield escape(environment.getattr(l_1_r, 'origin'))
            yield '</td>\n        </tr>\n'
        l_1_r = missing
        yield '      </tbody>\n    </table>\n  </div>\n  <p class="note">Prices from the forecast log returns. '
        yield escape((context.call(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'model'), 'get'), 'forecast', _block_vars=_block_vars) or "Point forecasts and intervals as each model's configuration makes them (its meta.json records how)."))
        yield '</p>\n'
    else:
        pass
        yield '  <p class="empty">No forecasts in this run.</p>\n'
    yield '</section>\n\n<section id="scoreboard">\n  <h2>Scoreboard: published forecasts against realised prices</h2>\n'
    if (undefined(name='score') if l_0_score is missing else l_0_score):
        pass
        yield '  <h3>By horizon: model against the random walk</h3>\n  <div class="table-wrap">\n    <table>\n      <thead><tr>\n        <th>h</th><th>n</th><th>MAE % model</th><th>MAE % random walk</th><th>model / RW</th>\n        <th>dir. acc.</th><th>coverage</th><th>DM p (model better)</th>\n      </tr></thead>\n      <tbody>\n'
        for l_1_r in (undefined(name='score') if l_0_score is missing else l_0_score):
            _loop_vars = {}
            pass
            yield '        <tr>\n          <td>'
            yield escape(environment.getattr(l_1_r, 'horizon'))
            yield '</td><td>'
            yield escape(environment.getattr(l_1_r, 'n'))
            yield '</td><td>'
            yield escape(t_3(environment.getattr(l_1_r, 'mae')))
            yield '</td><td>'
            yield escape(t_3(environment.getattr(l_1_r, 'rw_mae')))
            yield '</td>\n          <td>'
            yield escape(t_1(environment.getattr(l_1_r, 'mae_ratio'), 3))
            yield '</td><td>'
            yield escape(t_2(environment.getattr(l_1_r, 'dir_acc')))
            yield '</td><td>'
            yield escape(t_2(environment.getattr(l_1_r, 'coverage')))
            yield '</td>\n          <td>'
            if environment.getattr(l_1_r, 'dm_note'):
                pass
                yield escape(environment.getattr(l_1_r, 'dm_note'))
            else:
                pass
                yield escape(t_1(environment.getattr(l_1_r, 'dm_p'), 3))
            yield '</td>\n        </tr>\n'
        l_1_r = missing
        yield '      </tbody>\n    </table>\n  </div>\n'
        if (undefined(name='coverage_warnings') if l_0_coverage_warnings is missing else l_0_coverage_warnings):
            pass
            yield '  <ul class="warnings" aria-label="coverage warnings">\n'
            for l_1_w in (undefined(name='coverage_warnings') if l_0_coverage_warnings is missing else l_0_coverage_warnings):
                _loop_vars = {}
                pass
                yield '<li>'
                yield escape(l_1_w)
                yield '</li>'
            l_1_w = missing
            yield '  </ul>\n'
        yield '  <p class="note">MAE: log-return error &times;100 (percent of price). Coverage: share of outcomes\n  inside the published interval'
        if (t_4(environment.getattr(environment.getitem((undefined(name='score') if l_0_score is missing else l_0_score), 0), 'coverage_nominal')) and (not t_5(environment.getattr(environment.getitem((undefined(name='score') if l_0_score is missing else l_0_score), 0), 'coverage_nominal')))):
            pass
            yield ' (nominal '
            yield escape(t_2(environment.getattr(environment.getitem((undefined(name='score') if l_0_score is missing else l_0_score), 0), 'coverage_nominal'), 0))
            yield ')'
        yield '.\n  DM p: one-sided Diebold-Mariano p-value for "the model\'s squared errors are smaller than the\n  random walk\'s", the backtest\'s test: the difference averaged over the tickers of each origin\n  date, h&minus;1 lags of dates, small-sample corrected; given from 30 scored forecasts\n  and max(30, 15&thinsp;h) origin dates on (with fewer dates it rejects a true null too often at\n  longer horizons); a small p is evidence, not a verdict.</p>\n'
        if (undefined(name='plot') if l_0_plot is missing else l_0_plot):
            pass
            yield '  <h3>Running MAE by horizon</h3>\n  <figure>\n    <div class="scroll"><img src="'
            yield escape((undefined(name='plot') if l_0_plot is missing else l_0_plot))
            yield '" alt="running MAE of published forecasts against the random walk, per horizon"></div>\n    <figcaption>One panel per horizon: the MAE of every published forecast realised so far (solid\n      blue) against the random walk\'s on the same forecasts (dashed grey), by the date outcomes\n      became known.</figcaption>\n  </figure>\n'
        if (undefined(name='score_by_ticker') if l_0_score_by_ticker is missing else l_0_score_by_ticker):
            pass
            yield '  <details><summary>By ticker</summary>\n  <h3>By ticker and horizon</h3>\n  <div class="table-wrap">\n    <table>\n      <thead><tr><th class="l">ticker</th><th>h</th><th>n</th><th>MAE % model</th><th>MAE % RW</th><th>dir. acc.</th></tr></thead>\n      <tbody>\n'
            for l_1_r in (undefined(name='score_by_ticker') if l_0_score_by_ticker is missing else l_0_score_by_ticker):
                _loop_vars = {}
                pass
                yield '        <tr><td class="l">'
                yield escape(environment.getattr(l_1_r, 'ticker'))
                yield '</td><td>'
                yield escape(environment.getattr(l_1_r, 'horizon'))
                yield '</td><td>'
                yield escape(environment.getattr(l_1_r, 'n'))
                yield '</td>\n        <td>'
                yield escape(t_3(environment.getattr(l_1_r, 'mae')))
                yield '</td><td>'
                yield escape(t_3(environment.getattr(l_1_r, 'rw_mae')))
                yield '</td><td>'
                yield escape(t_2(environment.getattr(l_1_r, 'dir_acc')))
                yield '</td></tr>\n'
            l_1_r = missing
            yield '      </tbody>\n    </table>\n  </div>\n  </details>\n'
    else:
        pass
        yield '  <p class="empty">No published forecast has reached its target date yet.</p>\n'
    yield '</section>\n\n<section id="metadata">\n  <h2>Model</h2>\n  <h3>The model that made these forecasts</h3>\n  <div class="table-wrap"><table><tbody>\n'
    for (l_1_k, l_1_v) in context.call(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'model'), 'items'), _block_vars=_block_vars):
        _loop_vars = {}
        pass
        yield '<tr><th class="l">'
        yield escape(l_1_k)
        yield '</th><td class="l wrap">'
        yield escape(l_1_v)
        yield '</td></tr>'
    l_1_k = l_1_v = missing
    yield '  </tbody></table></div>\n</section>\n'

blocks = {'title': block_title, 'body': block_body}
debug_info = '1=12&2=17&3=30&5=75&7=77&8=79&9=81&10=83&19=91&21=94&22=103&28=112&37=115&39=119&40=125&41=127&42=136&48=144&56=150&65=153&67=157&68=165&69=171&75=180&77=183&81=192&87=198&90=201&96=203&103=206&104=210&105=216&121=228'