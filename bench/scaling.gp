# How the cost of GPT-2 124M grows, from bench/run_gpt.sh's scaling.tsv (bench/gpt_report.py):
#   gnuplot -e "data='build/release/bench-results/scaling.tsv'; out='docs/performance_scaling.png'" bench/scaling.gp
# Block 0: a training step at batch 4 x T; block 1: generation of 32 tokens after a prompt of P.
set terminal pngcairo size 1500,450 font "sans,10"
set output out
set multiplot layout 1,3
set logscale x 2
set grid
set key top right
set xlabel "sequence length T (batch 4)"
set ylabel "tokens/s"
set title "124M training step: tokens/s"
plot data index 0 using 1:2 with linespoints title "rlhf++", \
     '' index 0 using 1:3 with linespoints title "PyTorch eager (SDPA)", \
     '' index 0 using 1:4 with linespoints title "torch.compile"
set ylabel "peak RSS (MiB)"
set title "124M training step: peak RSS"
set key top left
plot data index 0 using 1:5 with linespoints title "rlhf++", \
     '' index 0 using 1:6 with linespoints title "PyTorch eager (SDPA)", \
     '' index 0 using 1:7 with linespoints title "torch.compile"
set xlabel "prompt length P (batch 1, 32 new tokens)"
set ylabel "new tokens/s"
set title "124M generation: tokens/s"
set key top right
plot data index 1 using 1:2 with linespoints title "rlhf++", \
     '' index 1 using 1:3 with linespoints title "PyTorch eager (SDPA)", \
     '' index 1 using 1:4 with linespoints title "torch.compile"
unset multiplot
