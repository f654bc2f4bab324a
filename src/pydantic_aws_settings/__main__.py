"""`python -m pydantic_aws_settings`: the same as the `pydantic-aws-settings` command."""

import sys

from pydantic_aws_settings.cli import main

sys.exit(main())
