# stackcast compiled template: sha256 7f9f30d7be7c46ba332aa73eb0edc0c75d1813f5e774db8466438f49a96a4973, jinja2 3.1.6
# Generated: do not edit; see stackcast.reports.templating.
from jinja2.runtime import LoopContext, Macro, Markup, Namespace, TemplateNotFound, TemplateReference, TemplateRuntimeError, Undefined, escape, identity, internalcode, markup_join, missing, str_join
name = 'sweep.html'

def root(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    parent_template = None
    pass
    parent_template = environment.get_template('base.html', 'sweep.html')
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

def block_main_class(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    _block_vars = {}
    pass
    yield 'wide'

def block_body(context, missing=missing):
    resolve = context.resolve_or_missing
    undefined = environment.undefined
    concat = environment.concat
    cond_expr_undefined = Undefined
    if 0: yield None
    _block_vars = {}
    l_0_d = resolve('d')
    l_0_rows = resolve('rows')
    l_0_winner = resolve('winner')
    l_0_horizons = resolve('horizons')
    l_0_grid = resolve('grid')
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
        t_4 = environment.filters['pp']
    except KeyError:
        @internalcode
        def t_4(*unused):
            raise TemplateRuntimeError("No filter named 'pp' found.")
    try:
        t_5 = environment.filters['pval']
    except KeyError:
        @internalcode
        def t_5(*unused):
            raise TemplateRuntimeError("No filter named 'pval' found.")
    try:
        t_6 = environment.filters['upper']
    except KeyError:
        @internalcode
        def t_6(*unused):
            raise TemplateRuntimeError("No filter named 'upper' found.")
    pass
    yield '<header class="top">\n  <h1>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'title'))
    yield '</h1>\n  <p class="meta">\n    <span>run <code>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'run_id'))
    yield '</code></span>\n    <span>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'created'))
    yield '</span>\n    <span>'
    yield escape(t_2((undefined(name='rows') if l_0_rows is missing else l_0_rows)))
    yield ' candidate'
    yield escape(('' if (t_2((undefined(name='rows') if l_0_rows is missing else l_0_rows)) == 1) else 's'))
    yield '</span>\n  </p>\n  <nav class="toc" aria-label="sections">\n    <a href="#chosen">chosen</a>\n    <a href="#candidates">candidates</a>\n    <a href="#selection">selection</a>\n    <a href="#config">config</a>\n  </nav>\n</header>\n\n'
    if (environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'failed') or environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'warnings')):
        pass
        yield '<ul class="warnings" aria-label="warnings">\n'
        for (l_1_label, l_1_why) in context.call(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'failed'), 'items'), _block_vars=_block_vars):
            _loop_vars = {}
            pass
            yield '<li>candidate '
            yield escape(l_1_label)
            yield ' failed: '
            yield escape(l_1_why)
            yield '</li>'
        l_1_label = l_1_why = missing
        for l_1_w in environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'warnings'):
            _loop_vars = {}
            pass
            if (l_1_w not in context.call(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'failed'), 'values'), _loop_vars=_loop_vars)):
                pass
                yield '<li>'
                yield escape(l_1_w)
                yield '</li>'
        l_1_w = missing
        yield '</ul>\n'
    yield '\n<section id="chosen">\n  <h2>Chosen on validation: '
    yield escape(environment.getattr((undefined(name='winner') if l_0_winner is missing else l_0_winner), 'label'))
    yield '</h2>\n  <p>Validation MAE '
    yield escape(t_4(environment.getattr((undefined(name='winner') if l_0_winner is missing else l_0_winner), 'validation_mae')))
    yield '% (random walk '
    yield escape(t_4(environment.getattr((undefined(name='winner') if l_0_winner is missing else l_0_winner), 'validation_rw_mae')))
    yield '%).\n     On the test folds ('
    yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'periods'), 'test_start'))
    yield ' .. '
    yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'periods'), 'test_end'))
    yield '): MAE '
    yield escape(t_4(environment.getattr((undefined(name='winner') if l_0_winner is missing else l_0_winner), 'test_mae')))
    yield '%\n     against '
    yield escape(t_4(environment.getattr((undefined(name='winner') if l_0_winner is missing else l_0_winner), 'test_rw_mae')))
    yield '% for the random walk (ratio '
    yield escape(t_3(environment.getattr((undefined(name='winner') if l_0_winner is missing else l_0_winner), 'test_ratio'), 3))
    yield ').</p>\n  <ul class="verdicts">\n'
    for l_1_v in context.call(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'verdicts'), 'get'), 'verdicts', [], _block_vars=_block_vars):
        _loop_vars = {}
        pass
        yield '    <li class="'
        yield escape(('yes' if environment.getattr(l_1_v, 'beats_random_walk') else 'no'))
        yield '">'
        yield escape(t_6(environment.getattr(l_1_v, 'sentence')[:1]))
        yield escape(environment.getattr(l_1_v, 'sentence')[1:])
        yield '; Diebold-Mariano p before adjustment '
        yield escape(t_5(environment.getattr(l_1_v, 'p_raw')))
        yield '.</li>\n'
    l_1_v = missing
    yield '  </ul>\n'
    if context.call(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'verdicts'), 'get'), 'verdict_note', _block_vars=_block_vars):
        pass
        yield '<p class="note">'
        yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'verdicts'), 'verdict_note'))
        yield '</p>'
    yield '</section>\n\n<section id="candidates">\n  <h2>Every candidate</h2>\n  <div class="table-wrap">\n    <table>\n      <thead><tr>\n        <th>#</th><th class="l">candidate</th><th class="l">status</th>\n        <th>val. MAE %</th><th>val. RW %</th><th>test MAE %</th><th>test RW %</th><th>test ratio</th>\n'
    for l_1_h in (undefined(name='horizons') if l_0_horizons is missing else l_0_horizons):
        _loop_vars = {}
        pass
        yield '<th>DM p h='
        yield escape(l_1_h)
        yield '</th><th>Holm p h='
        yield escape(l_1_h)
        yield '</th>'
    l_1_h = missing
    yield '      </tr></thead>\n      <tbody>\n'
    for l_1_r in (undefined(name='rows') if l_0_rows is missing else l_0_rows):
        _loop_vars = {}
        pass
        yield '        <tr class="'
        yield escape(('model' if environment.getattr(l_1_r, 'chosen') else cond_expr_undefined("the inline if-expression on line 51 in 'sweep.html' evaluated to false and no else section was defined.")))
        yield '">\n          <td>'
        yield escape((environment.getattr(l_1_r, 'candidate') + 1))
        yield '</td>\n          <td class="l wrap">'
        yield escape(environment.getattr(l_1_r, 'label'))
        if environment.getattr(l_1_r, 'chosen'):
            pass
            yield ' <span class="badge yes">chosen</span>'
        yield '</td>\n          <td class="l">'
        if (environment.getattr(l_1_r, 'status') == 'ok'):
            pass
            yield 'ok'
        else:
            pass
            yield '<span class="badge">failed</span>'
        yield '</td>\n          <td>'
        yield escape(t_4(context.call(environment.getattr(l_1_r, 'get'), 'validation_mae', _loop_vars=_loop_vars)))
        yield '</td><td>'
        yield escape(t_4(context.call(environment.getattr(l_1_r, 'get'), 'validation_rw_mae', _loop_vars=_loop_vars)))
        yield '</td>\n          <td>'
        yield escape(t_4(context.call(environment.getattr(l_1_r, 'get'), 'test_mae', _loop_vars=_loop_vars)))
        yield '</td><td>'
        yield escape(t_4(context.call(environment.getattr(l_1_r, 'get'), 'test_rw_mae', _loop_vars=_loop_vars)))
        yield '</td><td>'
        yield escape(t_3(context.call(environment.getattr(l_1_r, 'get'), 'test_ratio', _loop_vars=_loop_vars), 3))
        yield '</td>\n'
        for l_2_e in environment.getattr(l_1_r, 'by_h'):
            _loop_vars = {}
            pass
            yield '<td>'
            yield escape(t_5(context.call(environment.getattr(l_2_e, 'get'), 'p', _loop_vars=_loop_vars)))
            yield '</td><td class="'
            yield escape(('best' if context.call(environment.getattr(l_2_e, 'get'), 'beats_random_walk', _loop_vars=_loop_vars) else cond_expr_undefined("the inline if-expression on line 57 in 'sweep.html' evaluated to false and no else section was defined.")))
            yield '">'
            yield escape(t_5(context.call(environment.getattr(l_2_e, 'get'), 'p_holm', _loop_vars=_loop_vars)))
            yield '</td>'
        l_2_e = missing
        yield '        </tr>\n'
    l_1_r = missing
    yield '      </tbody>\n    </table>\n  </div>\n  <p class="note">MAE of log returns in percentage points over every ticker and horizon with a known outcome.\n    DM p: one-sided Diebold-Mariano test of the candidate against the random walk on the test folds, pooled over tickers;\n    Holm p: adjusted for testing every candidate at every horizon (family-wise level '
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'significance'))
    yield ').</p>\n</section>\n\n<section id="selection">\n  <h2>How the candidate was chosen</h2>\n  <p>Every candidate ran the same '
    yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'periods'), 'validation_folds'))
    yield ' validation and '
    yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'periods'), 'test_folds'))
    yield ' test walk-forward folds.\n    The choice is the lowest MAE on validation origins '
    yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'periods'), 'validation_start'))
    yield ' .. '
    yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'periods'), 'validation_end'))
    yield ':\n    the last of them lies the embargo ('
    yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'periods'), 'embargo'))
    yield ' bars) before the first test origin '
    yield escape(environment.getattr(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'periods'), 'test_start'))
    yield ',\n    so every outcome the choice uses was known before the test began; no test-fold number takes part in it.</p>\n  <div class="table-wrap">\n    <table>\n      <thead><tr><th class="l">key</th><th class="l">values</th></tr></thead>\n      <tbody>'
    for (l_1_key, l_1_values) in context.call(environment.getattr((undefined(name='grid') if l_0_grid is missing else l_0_grid), 'items'), _block_vars=_block_vars):
        _loop_vars = {}
        pass
        yield '<tr><td class="l"><code>'
        yield escape(l_1_key)
        yield '</code></td><td class="l wrap">'
        yield escape(t_1(context.eval_ctx, l_1_values, ', '))
        yield '</td></tr>'
    l_1_key = l_1_values = missing
    yield '</tbody>\n    </table>\n  </div>\n</section>\n\n<section id="config">\n  <h2>Chosen configuration</h2>\n  <p class="note">Saved beside this page as <code>winner.toml</code>, ready for <code>stackcast train --config</code>.</p>\n  <pre>'
    yield escape(environment.getattr((undefined(name='d') if l_0_d is missing else l_0_d), 'winner_config'))
    yield '</pre>\n</section>\n'

blocks = {'title': block_title, 'main_class': block_main_class, 'body': block_body}
debug_info = '1=12&2=17&3=28&4=38&6=88&8=90&9=92&10=94&20=98&22=101&23=110&28=121&29=123&30=127&31=133&33=137&34=141&37=150&47=156&50=166&51=170&52=172&53=174&54=179&55=186&56=190&57=196&65=210&70=212&71=216&72=220&77=224&85=234'