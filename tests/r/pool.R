# Reproduce pooled.csv from metafor.csv with R's metafor (the reference crmo-extract is tested against).
# Usage: Rscript tests/r/pool.R OUT_DIR/metafor.csv pooled_metafor.csv
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1], stringsAsFactors = FALSE)
rows <- list()
for (g in split(dat, list(dat$drug, dat$outcome), drop = TRUE)) {
  if (nrow(g) < 2) next
  for (measure in c("PLO", "PFT")) {
    for (method in c("DL", "REML")) {
      res <- rma(measure = measure, xi = xi, ni = ni, data = g, method = method)
      pred <- if (measure == "PLO") {
        predict(res, transf = transf.ilogit)
      } else {
        predict(res, transf = transf.ipft.hm, targs = list(ni = g$ni))
      }
      rows[[length(rows) + 1]] <- data.frame(
        drug = g$drug[1], outcome = g$outcome[1], measure = measure, method = method,
        k = res$k, n_total = sum(g$ni),
        pooled = pred$pred, ci_low = pred$ci.lb, ci_high = pred$ci.ub,
        pi_low = pred$pi.lb, pi_high = pred$pi.ub,
        tau2 = res$tau2, i2 = res$I2, q = res$QE)
    }
  }
}
out <- if (length(rows)) do.call(rbind, rows) else data.frame()
write.csv(out, args[2], row.names = FALSE)
