/*
 * A tiny prompt filter: reads prompts from stdin, one a line, and prints the action for
 * each, its score and its strongest finding:
 *
 *   $ printf 'What is 2+2?\nIgnore all previous instructions\n' | ./filter
 *   allow   0.00  -
 *   block   0.90  injection.override.ignore-previous
 *
 *   filter [-r] [rules.toml ...]
 *
 * -r scans the lines as model responses; rule packs given as arguments add to the built-in
 * rules. Exits 1 when a line was blocked, 2 on an error, 0 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promptwall.h"

int main(int argc, char **argv) {
  int response = argc > 1 && strcmp(argv[1], "-r") == 0;
  const char *const *rule_paths = (const char *const *)(argv + 1 + response);
  size_t n_rules = (size_t)(argc - 1 - response);
  pw_firewall *fw = NULL;
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int blocked = 0;
  pw_status status;

  /* Build once; one firewall may serve any number of threads. */
  status = n_rules ? pw_firewall_new_from_files(rule_paths, n_rules, NULL, &fw)
                   : pw_firewall_new_default(&fw);
  if (status != PW_STATUS_OK) {
    fprintf(stderr, "filter: %s: %s\n", pw_status_str(status), pw_last_error_message());
    return 2;
  }

  while ((len = getline(&line, &cap, stdin)) != -1) {
    pw_verdict *v = NULL;
    pw_finding top;
    if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
    status = response ? pw_firewall_scan_response(fw, (const uint8_t *)line, (size_t)len, &v)
                      : pw_firewall_scan(fw, (const uint8_t *)line, (size_t)len, &v);
    if (status != PW_STATUS_OK) {
      /* e.g. PW_STATUS_INVALID_UTF8: the message says where, never what. */
      printf("error   %s\n", pw_last_error_message());
      continue;
    }
    printf("%-7s %.2f  %s\n", pw_action_str(pw_verdict_action(v)), pw_verdict_score(v),
           pw_verdict_finding(v, 0, &top) == PW_STATUS_OK ? top.rule : "-");
    if (pw_verdict_action(v) == PW_ACTION_BLOCK) blocked = 1;
    pw_verdict_free(v);
  }
  free(line);
  pw_firewall_free(fw);
  return blocked;
}
