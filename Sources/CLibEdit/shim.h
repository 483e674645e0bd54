#include <stdio.h>
#include <editline/readline.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* ioctl() is variadic, so Swift cannot call it; this wrapper can.
   Returns the terminal width of fd, or 0 when fd is not a terminal. */
static inline int clibedit_terminal_columns(int fd) {
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return 0;
  return ws.ws_col;
}
