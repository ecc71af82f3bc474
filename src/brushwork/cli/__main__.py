"""``python -m brushwork.cli``: the same as the ``brushwork`` command."""

from brushwork.cli import main

main()
