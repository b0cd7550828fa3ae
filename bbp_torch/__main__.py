from bbp_torch.cli import main

main()
