"""The recipe's task scripts (scripts/<task>-plus.sh): they train their own (augmented) source
model, keep the snapshots, choose one without target labels, and feed the report's rows."""
import os
import subprocess
import sys

import pytest
import yaml

from adda.selection import choose
from conftest import ROOT, run_task_script, task_script_env, write_mnist, write_usps

# Runtime-independent: one pass of .ci/run runs it (conftest.belongs_here).
pytestmark = pytest.mark.once


def test_recipe_script_augments_its_source_and_chooses_a_snapshot(tmp_path):
    data = tmp_path / 'data'
    write_mnist(str(data / 'mnist'), counts=(2000, 100))
    write_usps(str(data / 'usps'), counts=(1800, 100))
    results, snap = tmp_path / 'results', tmp_path / 'snap'
    env = task_script_env(tmp_path, data, 3)

    log = run_task_script('usps-mnist-plus', env)
    run = results / 'usps-mnist-plus-seed3-it20+20'
    assert yaml.safe_load((run / 'run.yaml').read_text())['task'] == 'usps-mnist-plus'
    # its own source model, trained with augmentation, and every adaptation snapshot kept
    source = snap / 'usps-mnist-plus-seed3-it20+20_source'
    assert (source / 'usps-mnist-plus-seed3-it20+20_source-20.index').is_file()
    source_options = yaml.safe_load((source / 'config.yaml').read_text())['options']
    assert source_options['augment'] == 0.2 and source_options['augment_zoom'] == [0.5, 1.2]
    assert source_options['augment_shear'] == 0.5
    assert not (snap / 'usps-mnist-seed3-it20+20_source').exists()
    adapt = snap / 'usps-mnist-plus-seed3-it20+20_adda'
    assert sorted(n for n in os.listdir(str(adapt)) if n.endswith('.index')) == [
        'usps-mnist-plus-seed3-it20+20_adda-10.index', 'usps-mnist-plus-seed3-it20+20_adda-20.index']
    adapt_options = yaml.safe_load((adapt / 'config.yaml').read_text())['options']
    assert (adapt_options['target_pseudo'], adapt_options['pseudo_threshold'],
            adapt_options['pseudo_neighbours']) == (2.0, 0.5, 10)
    selection = yaml.safe_load((run / 'selection.yaml').read_text())
    # the source model is a candidate too (step 0: "do not adapt")
    assert [s['step'] for s in selection['snapshots']] == [0, 10, 20]
    assert selection['snapshots'][0]['path'] == str(source / 'usps-mnist-plus-seed3-it20+20_source-20')
    scores = {s['step']: s['scores'][selection['criterion']] for s in selection['snapshots']}
    assert selection['chosen']['step'] == choose(scores, selection['higher_is_better'])
    chosen = yaml.safe_load((run / 'selected_train.yaml').read_text())
    assert chosen['weights'] == selection['chosen']['path'] and chosen['images'] == 2000
    curve = yaml.safe_load((run / 'curve_train.yaml').read_text())
    assert [p['step'] for p in curve['snapshots']] == [0, 10, 20]
    source_only = yaml.safe_load((run / 'source_only_train.yaml').read_text())
    assert curve['snapshots'][0]['accuracy'] == source_only['accuracy']
    by_step = {p['step']: p['accuracy'] for p in curve['snapshots']}
    assert by_step[selection['chosen']['step']] == chosen['accuracy']
    assert curve['oracle_uses_labels']['accuracy'] == max(by_step.values())
    assert 'Chosen:' in log

    # The faithful run of the same seed trains its source model without augmentation.
    run_task_script('usps-mnist', env)
    config = yaml.safe_load((snap / 'usps-mnist-seed3-it20+20_source' / 'config.yaml').read_text())
    assert config['options']['augment'] == 0.0 and config['options']['augment_shear'] == 0.0

    report = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'report.py'),
                             str(results)], stdout=subprocess.PIPE, encoding='utf-8',
                            env=env)
    # short runs are not results: the report leaves them out of the table and names them
    rows = [l for l in report.stdout.splitlines()
            if l.startswith('| USPS→MNIST') and '(published' not in l]
    assert rows and all(r.rstrip().endswith('| 0 |') for r in rows)
    (note,) = [l for l in report.stdout.splitlines() if l.startswith('Not in the table')]
    assert 'usps-mnist-plus-seed3-it20+20 (other settings: source 20 + adaptation 20 ' \
        'iterations, TRAIN_ARGS --snapshot 10 --batch_size 32)' in note
    assert 'usps-mnist-seed3-it20+20 (other settings' in note
