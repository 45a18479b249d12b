"""Environment set-up shared by tools and tests."""
import datetime
import warnings

from mmengine import DefaultScope

from .compat import register_checkpoint_loader


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mavilkit module that registers something and set the default scope.

    The registries also import lazily through ``locations=``; calling this is only needed when
    components are built without a Runner (scripts, notebooks, tests).
    """
    import mavilkit.datasets  # noqa: F401,F403
    import mavilkit.engine  # noqa: F401,F403
    import mavilkit.evaluation  # noqa: F401,F403
    import mavilkit.models  # noqa: F401,F403
    import mavilkit.visualization  # noqa: F401,F403
    register_checkpoint_loader()
    if not init_default_scope:
        return
    never_created = DefaultScope.get_current_instance() is None \
        or not DefaultScope.check_instance_created('mavilkit')
    if never_created:
        DefaultScope.get_instance('mavilkit', scope_name='mavilkit')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mavilkit':
        warnings.warn('The current default scope '
                      f'"{current_scope.scope_name}" is not "mavilkit", '
                      '`register_all_modules` will force the current'
                      'default scope to be "mavilkit". If this is not '
                      'expected, please set `init_default_scope=False`.')
        new_instance_name = f'mavilkit-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mavilkit')
