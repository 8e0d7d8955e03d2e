# Reproduce pooled.csv from metafor.csv with R's metafor (the reference crmo-extract is tested against).
# Usage: Rscript tests/r/pool.R OUT_DIR/metafor.csv pooled_metafor.csv
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1], stringsAsFactors = FALSE)
# REML's Fisher scoring stops by default once tau^2 moves less than 1e-5; near tau^2 = 0 on the
# PFT scale that leaves I^2 off by up to ~0.02 points, so iterate to 1e-10 (same estimator, more
# digits). If it overshoots and does not converge, use metafor's own remedy from help(rma).
fit <- function(measure, method, g) {
  tryCatch(rma(measure = measure, xi = xi, ni = ni, data = g, method = method,
               control = list(threshold = 1e-10, maxiter = 1000)),
           error = function(e) rma(measure = measure, xi = xi, ni = ni, data = g, method = method,
                                   control = list(threshold = 1e-10, maxiter = 10000, stepadj = 0.5)))
}
rows <- list()
for (g in split(dat, list(dat$drug, dat$outcome), drop = TRUE)) {
  if (nrow(g) < 2) next
  for (measure in c("PLO", "PFT")) {
    for (method in c("DL", "REML")) {
      res <- fit(measure, method, g)
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
