import sys

from bbp_torch.cli.bbp import main

sys.exit(main())
